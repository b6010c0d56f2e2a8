package ca.halo.core.internal.http;

import ca.halo.core.internal.http.ResponseSizeLimitInterceptor.ResponseTooLargeException;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;

/** Reads answer bodies with a cap. Not public API. */
public final class Bodies {
  private Bodies() {}

  /**
   * The body of {@code response} as text (its charset, UTF-8 by default), read only if it is at
   * most {@code maxBytes}. Past the cap the call is cancelled, so OkHttp does not read on to reuse
   * the connection, and a {@link ResponseTooLargeException} is thrown.
   */
  public static String string(Call call, Response response, long maxBytes) throws IOException {
    ResponseBody body = response.body();
    String host = response.request().url().host();
    if (body.contentLength() > maxBytes) {
      call.cancel();
      throw new ResponseTooLargeException(host, maxBytes);
    }
    BufferedSource source = body.source();
    if (source.request(maxBytes + 1)) {
      call.cancel();
      throw new ResponseTooLargeException(host, maxBytes);
    }
    byte[] bytes = source.readByteArray();
    // as OkHttp's ResponseBody.string(): a byte order mark wins over the declared charset
    if (bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
        && (bytes[2] & 0xff) == 0xBF) {
      return new String(bytes, 3, bytes.length - 3, StandardCharsets.UTF_8);
    }
    if (bytes.length >= 2 && (bytes[0] & 0xff) == 0xFE && (bytes[1] & 0xff) == 0xFF) {
      return new String(bytes, 2, bytes.length - 2, StandardCharsets.UTF_16BE);
    }
    if (bytes.length >= 2 && (bytes[0] & 0xff) == 0xFF && (bytes[1] & 0xff) == 0xFE) {
      return new String(bytes, 2, bytes.length - 2, StandardCharsets.UTF_16LE);
    }
    MediaType type = body.contentType();
    Charset cs = type == null ? null : type.charset(null);
    return new String(bytes, cs == null ? StandardCharsets.UTF_8 : cs);
  }
}
