package ca.halo.core.internal.http;

import java.io.IOException;
import okhttp3.Interceptor;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.ForwardingSource;
import okio.Okio;

/**
 * Caps how many body bytes any answer read through a HaloHttp may deliver: a declared
 * {@code Content-Length} above the cap fails at once, and a body without one (chunked, or delimited
 * by the connection's end) fails as soon as the reader goes past the cap. Either way the reader
 * gets a {@link ResponseTooLargeException}, an {@link IOException}, which the SDK's callers turn into
 * a {@code HaloTransportException}. So a hostile or broken server cannot make the SDK hold an
 * unbounded answer in memory.
 */
public final class ResponseSizeLimitInterceptor implements Interceptor {
  private final long maxBytes;

  public ResponseSizeLimitInterceptor(long maxBytes) {
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes must be positive");
    }
    this.maxBytes = maxBytes;
  }

  public long maxBytes() {
    return maxBytes;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Response response = chain.proceed(chain.request());
    if (response.code() == 101) {
      return response; // a websocket upgrade: the socket is not a body
    }
    ResponseBody body = response.body();
    long declared = body.contentLength();
    String host = chain.request().url().host();
    if (declared > maxBytes) {
      abandon(chain, response);
      throw new ResponseTooLargeException(host, maxBytes);
    }
    BufferedSource limited = Okio.buffer(new ForwardingSource(body.source()) {
      private long total;

      @Override
      public long read(Buffer sink, long byteCount) throws IOException {
        long n = super.read(sink, byteCount);
        if (n > 0) {
          total += n;
          if (total > maxBytes) {
            chain.call().cancel();
            throw new ResponseTooLargeException(host, maxBytes);
          }
        }
        return n;
      }
    });
    return response.newBuilder()
        .body(ResponseBody.create(limited, body.contentType(), declared))
        .build();
  }

  /**
   * Closes an answer without reading it. The call is cancelled first: closing a body that still
   * has bytes makes OkHttp read on to reuse the connection, which a hostile server would feed.
   */
  static void abandon(Chain chain, Response response) {
    chain.call().cancel();
    response.close();
  }

  /** The answer is larger than the HaloHttp allows. */
  public static final class ResponseTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    public ResponseTooLargeException(String host, long maxBytes) {
      super("the answer from " + host + " is larger than " + maxBytes
          + " bytes (HaloHttp.Builder#maxResponseBytes)");
    }
  }
}
