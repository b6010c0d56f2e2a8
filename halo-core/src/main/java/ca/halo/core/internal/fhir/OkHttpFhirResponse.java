package ca.halo.core.internal.fhir;

import ca.uhn.fhir.rest.client.impl.BaseHttpResponse;
import ca.uhn.fhir.util.StopWatch;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import okhttp3.MediaType;
import okhttp3.Response;

/** A fully buffered OkHttp response, as HAPI reads it. */
final class OkHttpFhirResponse extends BaseHttpResponse {
  private final int status;
  private final String message;
  private final Map<String, List<String>> headers;
  private final byte[] body;
  private final MediaType mediaType;

  OkHttpFhirResponse(Response response, byte[] body, StopWatch sw) {
    super(sw);
    this.status = response.code();
    this.message = response.message();
    Map<String, List<String>> h = new HashMap<>();
    for (String name : response.headers().names()) {
      h.put(name.toLowerCase(Locale.ROOT), response.headers(name));
    }
    this.headers = h;
    this.body = body;
    String ct = response.header("Content-Type");
    this.mediaType = ct == null ? null : MediaType.parse(ct);
  }

  @Override
  public void bufferEntity() {
    // already buffered
  }

  @Override
  public void close() {
    // nothing held open
  }

  @Override
  public Reader createReader() {
    return new InputStreamReader(readEntity(), charset(mediaType));
  }

  /**
   * The charset HAPI reads an answer of this media type in: the one it declares, else (none,
   * or one this JVM does not know) UTF-8.
   */
  static Charset charset(MediaType mediaType) {
    Charset cs = mediaType == null ? null : mediaType.charset();
    return cs == null ? StandardCharsets.UTF_8 : cs;
  }

  @Override
  public Map<String, List<String>> getAllHeaders() {
    return headers;
  }

  @Override
  public List<String> getHeaders(String name) {
    return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
  }

  @Override
  public String getMimeType() {
    return mediaType == null ? null : mediaType.type() + "/" + mediaType.subtype();
  }

  @Override
  public Object getResponse() {
    return null;
  }

  @Override
  public int getStatus() {
    return status;
  }

  @Override
  public String getStatusInfo() {
    return message;
  }

  @Override
  public InputStream readEntity() {
    return new ByteArrayInputStream(body);
  }
}
