package ca.halo.server.sofa.internal;

import ca.halo.server.authz.BrowserRequest;
import ca.halo.server.authz.OAuthHttpResponse;
import ca.halo.server.authz.SmartAuthorizationServer;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Mounts the authorization server engine at {@code /auth/*}. The peer address it passes on is
 * Jetty's remote address: behind a reverse proxy, configure Jetty's forwarded-request handling
 * so that it is the browser's, not the proxy's.
 */
public final class OAuthServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OAuthServlet.class);
  private static final java.util.Set<String> GRANTS = java.util.Set.of("authorization_code",
      "refresh_token", "client_credentials");
  private static final java.util.Set<String> ERRORS = java.util.Set.of("invalid_request",
      "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
      "invalid_scope", "temporarily_unavailable", "server_error");
  private static final java.util.regex.Pattern ERROR =
      java.util.regex.Pattern.compile("\"error\"\\s*:\\s*\"([a-z_]{1,40})\"");
  private final transient SmartAuthorizationServer as;
  private final transient ca.halo.server.observe.SofaObserver observer;

  public OAuthServlet(SmartAuthorizationServer as) {
    this(as, ca.halo.server.observe.SofaObserver.NONE);
  }

  public OAuthServlet(SmartAuthorizationServer as, ca.halo.server.observe.SofaObserver observer) {
    this.as = as;
    this.observer = observer;
  }

  /** The token request as the observer hears it: a known grant type, and issued or the error. */
  private void observeToken(Map<String, String> p, OAuthHttpResponse r) {
    try {
      String grant = p.get("grant_type");
      String outcome = "issued";
      if (r.status() != 200) {
        java.util.regex.Matcher m = ERROR.matcher(r.body().orElse(""));
        outcome = m.find() && ERRORS.contains(m.group(1)) ? m.group(1) : "error";
      }
      observer.tokenRequest(GRANTS.contains(grant) ? grant : "other", outcome);
    } catch (RuntimeException e) {
      // an observer never fails a request
    }
  }

  /**
   * A failure that is not a deliberate answer (a store that threw, a defect) is answered as an
   * OAuth error without the exception's text: {@code temporarily_unavailable} (503) when a store
   * is out of reach, else {@code server_error} (500). Logged at WARN by class name only.
   */
  @Override
  protected void service(HttpServletRequest req, HttpServletResponse resp)
      throws jakarta.servlet.ServletException, IOException {
    try {
      super.service(req, resp);
    } catch (java.nio.charset.IllegalCharsetNameException
        | java.nio.charset.UnsupportedCharsetException
        | org.eclipse.jetty.http.BadMessageException e) {
      // a request that cannot be read (an unknown charset, bad encoding): the caller's fault
      LOG.debug("unreadable authorization request ({})", e.getClass().getSimpleName());
      if (!resp.isCommitted()) {
        resp.reset();
        write(resp, errorJson(400, "invalid_request", "the request cannot be decoded"));
      }
    } catch (RuntimeException e) {
      boolean down = ca.halo.server.internal.Failures.unavailable(e);
      LOG.warn("authorization endpoint failed ({}); answered {}", e.getClass().getSimpleName(),
          down ? 503 : 500);
      if (!resp.isCommitted()) {
        resp.reset();
        write(resp, down
            ? errorJson(503, "temporarily_unavailable", "the server cannot answer now; retry later")
            : errorJson(500, "server_error", "the server failed to answer this request"));
      }
    }
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "" : req.getPathInfo();
    switch (path) {
      case "/authorize": {
        Map<String, String> p = params(req, resp);
        write(resp, p == null ? null : as.authorize(browser(req, p)));
        return;
      }
      case "/sign-in": {
        Map<String, String> p = params(req, resp);
        write(resp, p == null ? null : as.signIn(browser(req, p)));
        return;
      }
      case "/jwks":
        write(resp, as.jwks());
        return;
      case "/.well-known/openid-configuration":
        write(resp, as.openidConfiguration());
        return;
      default:
        resp.sendError(404);
    }
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "" : req.getPathInfo();
    String ct = req.getContentType();
    if (ct == null || !ct.toLowerCase(java.util.Locale.ROOT)
        .startsWith("application/x-www-form-urlencoded")) {
      write(resp, errorJson(400, "invalid_request",
          "the body must be application/x-www-form-urlencoded"));
      return;
    }
    Map<String, String> p = params(req, resp);
    if (p == null) {
      return;
    }
    String auth = req.getHeader("Authorization");
    switch (path) {
      case "/authorize":
        write(resp, as.authorize(browser(req, p)));
        return;
      case "/sign-in":
        write(resp, as.signIn(browser(req, p)));
        return;
      case "/token": {
        OAuthHttpResponse r = as.token(p, auth);
        observeToken(p, r);
        write(resp, r);
        return;
      }
      case "/introspect":
        write(resp, as.introspect(p, auth));
        return;
      case "/revoke":
        write(resp, as.revoke(p, auth));
        return;
      default:
        resp.sendError(404);
    }
  }

  private static OAuthHttpResponse errorJson(int status, String error, String description) {
    return OAuthHttpResponse.error(status, error, description);
  }

  /** Form and query parameters; a repeated parameter is refused (RFC 6749 section 3.1). */
  private static Map<String, String> params(HttpServletRequest req, HttpServletResponse resp)
      throws IOException {
    Map<String, String> out = new HashMap<>();
    Map<String, String[]> given;
    try {
      given = req.getParameterMap();
    } catch (RuntimeException e) {
      // bad percent-encoding, bytes that are not UTF-8, an unknown charset: the caller's fault
      write(resp, errorJson(400, "invalid_request", "the parameters cannot be decoded"));
      return null;
    }
    for (Map.Entry<String, String[]> e : given.entrySet()) {
      if (e.getValue().length != 1) {
        write(resp, errorJson(400, "invalid_request",
            "parameter " + e.getKey() + " appears more than once"));
        return null;
      }
      out.put(e.getKey(), e.getValue()[0]);
    }
    return out;
  }

  /**
   * The peer's address as the per-address bounds count it: an IPv4 address as it is, an IPv6
   * address by its /64 network (one subscriber line holds a whole /64: counting each of its
   * addresses apart would let one line fill the tables).
   */
  static String addressKey(String remote) {
    if (remote == null || remote.indexOf(':') < 0) {
      return remote;
    }
    try {
      byte[] b = java.net.InetAddress.getByName(remote.startsWith("[") && remote.endsWith("]")
          ? remote.substring(1, remote.length() - 1) : remote).getAddress();
      if (b.length != 16) {
        return remote;
      }
      StringBuilder k = new StringBuilder();
      for (int i = 0; i < 8; i += 2) {
        k.append(String.format("%02x%02x:", b[i] & 0xff, b[i + 1] & 0xff));
      }
      return k.append(":/64").toString();
    } catch (java.io.IOException | RuntimeException e) {
      return remote;
    }
  }

  /** What the engine needs of a browser request: cookies, Origin, the peer's address. */
  private static BrowserRequest browser(HttpServletRequest req, Map<String, String> p) {
    BrowserRequest.Builder b = BrowserRequest.builder("POST".equals(req.getMethod()) ? "POST" : "GET", p)
        .origin(req.getHeader("Origin")).remoteAddress(addressKey(req.getRemoteAddr()));
    if (req.getCookies() != null) {
      for (Cookie c : req.getCookies()) {
        if (SmartAuthorizationServer.SSO_COOKIE.equals(c.getName())
            || SmartAuthorizationServer.BROWSER_COOKIE.equals(c.getName())) {
          b.cookie(c.getName(), c.getValue());
        }
      }
    }
    return b.build();
  }

  static void write(HttpServletResponse resp, OAuthHttpResponse r) throws IOException {
    if (r == null || resp.isCommitted()) {
      return;
    }
    resp.setStatus(r.status());
    r.headers().forEach(resp::setHeader);
    if (r.contentType().isPresent()) {
      resp.setContentType(r.contentType().get());
    }
    if (r.body().isPresent()) {
      byte[] b = r.body().get().getBytes(StandardCharsets.UTF_8);
      resp.setContentLength(b.length);
      resp.getOutputStream().write(b);
    }
  }
}
