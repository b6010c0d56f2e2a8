package ca.halo.server.authz;

import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An HTTP answer of the authorization server, free of any servlet type so the engine can sit in
 * any HTTP stack: status, content type, body and headers.
 *
 * <p>Immutable and thread-safe. JSON answers carry {@code Cache-Control: no-store} as RFC 6749
 * section 5.1 requires for token answers.
 */
public final class OAuthHttpResponse {
  private final int status;
  private final String contentType;
  private final String body;
  private final Map<String, String> headers;

  private OAuthHttpResponse(int status, String contentType, String body, Map<String, String> headers) {
    this.status = status;
    this.contentType = contentType;
    this.body = body;
    this.headers = Map.copyOf(headers);
  }

  public static OAuthHttpResponse json(int status, String json) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Cache-Control", "no-store");
    h.put("Pragma", "no-cache");
    return new OAuthHttpResponse(status, "application/json", json, h);
  }

  /** Public JSON (discovery, JWKS) that caches may keep for {@code maxAgeSeconds}. */
  public static OAuthHttpResponse publicJson(String json, int maxAgeSeconds) {
    return new OAuthHttpResponse(200, "application/json", json,
        Map.of("Cache-Control", "public, max-age=" + maxAgeSeconds));
  }

  public static OAuthHttpResponse error(int status, String error, String description) {
    ObjectNode o = Json.object();
    o.put("error", error);
    if (description != null) {
      o.put("error_description", description);
    }
    OAuthHttpResponse r = json(status, Json.write(o));
    if (status == 401) {
      Map<String, String> h = new LinkedHashMap<>(r.headers);
      h.put("WWW-Authenticate", "Basic realm=\"halo\"");
      return new OAuthHttpResponse(status, r.contentType, r.body, h);
    }
    return r;
  }

  public static OAuthHttpResponse redirect(URI to) {
    return new OAuthHttpResponse(302, null, null,
        Map.of("Location", to.toString(), "Cache-Control", "no-store"));
  }

  public static OAuthHttpResponse html(int status, String html) {
    return new OAuthHttpResponse(status, "text/html; charset=utf-8", html,
        Map.of("Cache-Control", "no-store", "X-Frame-Options", "DENY",
            "Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; form-action *"));
  }

  OAuthHttpResponse withHeader(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new OAuthHttpResponse(status, contentType, body, h);
  }

  public int status() { return status; }
  /** Empty for a redirect. */
  public java.util.Optional<String> contentType() { return java.util.Optional.ofNullable(contentType); }
  public java.util.Optional<String> body() { return java.util.Optional.ofNullable(body); }
  public Map<String, String> headers() { return headers; }

  @Override
  public boolean equals(Object o) {
    return o instanceof OAuthHttpResponse && ((OAuthHttpResponse) o).status == status
        && Objects.equals(((OAuthHttpResponse) o).body, body)
        && ((OAuthHttpResponse) o).headers.equals(headers);
  }

  @Override
  public int hashCode() {
    return Objects.hash(status, body, headers);
  }

  /** Prints the status only: bodies carry tokens and codes. */
  @Override
  public String toString() {
    return "OAuthHttpResponse{" + status + "}";
  }
}
