package ca.halo.core.http;

import ca.halo.core.HaloTransportException;
import ca.halo.core.internal.http.ResponseSizeLimitInterceptor;
import ca.halo.core.internal.http.SecureTransportInterceptor;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;

/**
 * The HTTP stack every HALO client shares: one connection pool, one dispatcher, one set of
 * timeouts, one user agent, and the transport rule (HTTPS, except to loopback hosts).
 *
 * <pre>{@code
 * try (HaloHttp http = HaloHttp.builder().callTimeout(Duration.ofSeconds(20)).build()) {
 *   SmartAppClient sof = SmartAppClient.builder().http(http)...build();
 *   SofaClient sofa = SofaClient.builder().http(http)...build();
 * }
 * }</pre>
 *
 * <p>No answer is read past {@link Builder#maxResponseBytes(long)} (64 MiB by default): a larger
 * one fails with {@link HaloTransportException} instead of filling the heap.
 *
 * <p>Thread-safe; build one and share it. {@link #close()} releases its threads and connections;
 * clients that were given a {@code HaloHttp} never close it, clients that made their own do.
 */
public final class HaloHttp implements AutoCloseable {
  /** The default {@code User-Agent}. */
  public static final String DEFAULT_USER_AGENT = "halo-java-sdk/0.1";
  /** The default {@link Builder#maxResponseBytes(long)}: 64 MiB. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 64L * 1024 * 1024;

  private final OkHttpClient client;
  private final boolean allowPlainHttp;
  private final String userAgent;
  private final long maxResponseBytes;

  private HaloHttp(Builder b) {
    this.allowPlainHttp = b.unsafeAllowPlainHttp;
    this.userAgent = b.userAgent;
    this.maxResponseBytes = b.maxResponseBytes;
    this.client =
        new OkHttpClient.Builder()
            .connectTimeout(b.connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .readTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .writeTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .callTimeout(b.callTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .followRedirects(false)
            .followSslRedirects(false)
            .addInterceptor(new SecureTransportInterceptor(b.unsafeAllowPlainHttp, b.userAgent))
            .addInterceptor(new ResponseSizeLimitInterceptor(b.maxResponseBytes))
            .build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A {@code HaloHttp} with default settings. */
  public static HaloHttp defaults() {
    return builder().build();
  }

  /**
   * The OkHttp client behind this stack, for SDK modules. Not for applications: OkHttp types are
   * not part of the HALO API and may change.
   */
  public OkHttpClient okHttp() {
    return client;
  }

  public boolean allowsPlainHttp() {
    return allowPlainHttp;
  }

  public String userAgent() {
    return userAgent;
  }

  /** The largest answer body this stack reads. */
  public long maxResponseBytes() {
    return maxResponseBytes;
  }

  /**
   * Checks a URL against the transport rule before it is used.
   *
   * @throws HaloTransportException if the URL is plain HTTP to a host that is not loopback
   */
  public void checkTransport(java.net.URI url) {
    if (!SecureTransportInterceptor.permitted(url.getScheme(), url.getHost(), allowPlainHttp)) {
      throw new HaloTransportException(
          "refusing plain-HTTP URL " + url.getScheme() + "://" + url.getHost()
              + ": HALO requires HTTPS except to loopback hosts (see"
              + " HaloHttp.Builder#unsafeAllowPlainHttp)");
    }
  }

  @Override
  public void close() {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }

  @Override
  public String toString() {
    return "HaloHttp{userAgent=" + userAgent + ", allowPlainHttp=" + allowPlainHttp + "}";
  }

  /** Builds a {@link HaloHttp}. */
  public static final class Builder {
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration readTimeout = Duration.ofSeconds(30);
    private Duration callTimeout = Duration.ofSeconds(60);
    private String userAgent = DEFAULT_USER_AGENT;
    private boolean unsafeAllowPlainHttp;
    private long maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES;

    private Builder() {}

    public Builder connectTimeout(Duration d) { this.connectTimeout = positive(d, "connectTimeout"); return this; }
    public Builder readTimeout(Duration d) { this.readTimeout = positive(d, "readTimeout"); return this; }
    public Builder callTimeout(Duration d) { this.callTimeout = positive(d, "callTimeout"); return this; }

    public Builder userAgent(String ua) {
      Objects.requireNonNull(ua, "userAgent");
      if (ua.isBlank()) {
        throw new IllegalArgumentException("userAgent must not be blank");
      }
      this.userAgent = ua;
      return this;
    }

    /**
     * The largest answer body read (default 64 MiB). A server that declares or sends more makes
     * the call fail with {@link HaloTransportException} once the limit is passed; raise it for
     * large FHIR reads (bulk searches, Binary), never remove it.
     */
    public Builder maxResponseBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxResponseBytes must be positive");
      }
      this.maxResponseBytes = bytes;
      return this;
    }

    /**
     * Allows plain HTTP to hosts that are not loopback. Unsafe: tokens and patient data then
     * travel in clear text. For closed test networks only.
     */
    public Builder unsafeAllowPlainHttp(boolean allow) {
      this.unsafeAllowPlainHttp = allow;
      return this;
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive");
      }
      return d;
    }

    public HaloHttp build() {
      return new HaloHttp(this);
    }
  }
}
