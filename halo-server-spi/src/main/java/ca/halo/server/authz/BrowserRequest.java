package ca.halo.server.authz;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A request from the user's browser to the authorization endpoint or the sign-in callback, as the
 * HTTP layer received it: method, parameters, cookies, {@code Origin} header and the peer's
 * address. The engine needs them to bind a sign-in to the browser that started it, to refuse
 * cross-origin credential posts, and to bound what one address may leave pending.
 *
 * <pre>{@code
 * BrowserRequest r = BrowserRequest.builder("POST", params)
 *     .cookie("halo_browser", value).origin("https://sofa.example.ca").remoteAddress("203.0.113.7")
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} prints the method only (parameters carry
 * passwords and codes).
 */
public final class BrowserRequest {
  private final String method;
  private final Map<String, String> params;
  private final Map<String, String> cookies;
  private final String origin;
  private final String remoteAddress;

  private BrowserRequest(Builder b) {
    this.method = b.method;
    this.params = Map.copyOf(b.params);
    this.cookies = Map.copyOf(b.cookies);
    this.origin = b.origin;
    this.remoteAddress = b.remoteAddress;
  }

  /** @param method {@code GET} or {@code POST}; @param params query or form parameters */
  public static Builder builder(String method, Map<String, String> params) {
    return new Builder(method, params);
  }

  /** {@code GET} or {@code POST}. */
  public String method() { return method; }
  public boolean isPost() { return "POST".equals(method); }
  /** Query or form parameters (each at most once). */
  public Map<String, String> params() { return params; }
  public Optional<String> cookie(String name) { return Optional.ofNullable(cookies.get(name)); }
  /** The {@code Origin} header, when the browser sent one. */
  public Optional<String> origin() { return Optional.ofNullable(origin); }
  /** The peer's address ({@code "unknown"} when the HTTP layer cannot tell). */
  public String remoteAddress() { return remoteAddress; }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof BrowserRequest)) {
      return false;
    }
    BrowserRequest r = (BrowserRequest) o;
    return method.equals(r.method) && params.equals(r.params) && cookies.equals(r.cookies)
        && Objects.equals(origin, r.origin) && remoteAddress.equals(r.remoteAddress);
  }

  @Override
  public int hashCode() {
    return Objects.hash(method, params, remoteAddress);
  }

  @Override
  public String toString() {
    return "BrowserRequest{" + method + "}";
  }

  /** Builds a {@link BrowserRequest}. */
  public static final class Builder {
    private final String method;
    private final Map<String, String> params;
    private final Map<String, String> cookies = new LinkedHashMap<>();
    private String origin;
    private String remoteAddress = "unknown";

    private Builder(String method, Map<String, String> params) {
      this.method = Objects.requireNonNull(method, "method").toUpperCase(Locale.ROOT);
      this.params = Objects.requireNonNull(params, "params");
    }

    /** A cookie the request carried (a null value is ignored). */
    public Builder cookie(String name, String value) {
      if (value != null) {
        cookies.put(Objects.requireNonNull(name), value);
      }
      return this;
    }

    public Builder origin(String v) { this.origin = v; return this; }
    public Builder remoteAddress(String v) { this.remoteAddress = v == null ? "unknown" : v; return this; }

    public BrowserRequest build() {
      if (!method.equals("GET") && !method.equals("POST")) {
        throw new IllegalStateException("method must be GET or POST, not " + method);
      }
      return new BrowserRequest(this);
    }
  }
}
