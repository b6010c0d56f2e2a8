package ca.halo.core.internal.http;

import java.io.IOException;
import java.net.InetAddress;
import java.util.Locale;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Refuses plain HTTP to hosts that are not loopback and sets the user agent. Runs on every call
 * made through a HaloHttp, HAPI's generic client included.
 */
public final class SecureTransportInterceptor implements Interceptor {
  private final boolean allowPlainHttp;
  private final String userAgent;

  public SecureTransportInterceptor(boolean allowPlainHttp, String userAgent) {
    this.allowPlainHttp = allowPlainHttp;
    this.userAgent = userAgent;
  }

  public static boolean permitted(String scheme, String host, boolean allowPlainHttp) {
    if ("https".equalsIgnoreCase(scheme) || "wss".equalsIgnoreCase(scheme)) {
      return true;
    }
    return allowPlainHttp || isLoopback(host);
  }

  /** True for localhost and literal loopback addresses; never does a DNS look-up. */
  public static boolean isLoopback(String host) {
    if (host == null) {
      return false;
    }
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equals("localhost") || h.endsWith(".localhost")) {
      return true;
    }
    if (h.matches("127(\\.\\d{1,3}){3}") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")) {
      try {
        return InetAddress.getByName(h).isLoopbackAddress();
      } catch (IOException e) {
        return false;
      }
    }
    return false;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    if (!permitted(request.url().scheme(), request.url().host(), allowPlainHttp)) {
      throw new InsecureTransportException(
          "refusing plain-HTTP request to " + request.url().host()
              + ": HALO requires HTTPS except to loopback hosts");
    }
    String ua = request.header("User-Agent");
    if (ua == null) {
      request = request.newBuilder().header("User-Agent", userAgent).build();
    } else if (!ua.startsWith(userAgent)) {
      request = request.newBuilder().header("User-Agent", userAgent + " " + ua).build();
    }
    return chain.proceed(request);
  }

  /** Thrown inside OkHttp's chain; callers turn it into a HaloTransportException. */
  public static final class InsecureTransportException extends IOException {
    private static final long serialVersionUID = 1L;

    InsecureTransportException(String message) {
      super(message);
    }
  }
}
