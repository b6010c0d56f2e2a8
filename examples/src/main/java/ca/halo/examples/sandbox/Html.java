package ca.halo.examples.sandbox;

import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/** Small helpers for the sandbox's web pages: escaping, security headers, cookies, CSRF checks. */
final class Html {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Html() {}

  static String esc(Object o) {
    String s = String.valueOf(o);
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<': b.append("&lt;"); break;
        case '>': b.append("&gt;"); break;
        case '&': b.append("&amp;"); break;
        case '"': b.append("&quot;"); break;
        case '\'': b.append("&#39;"); break;
        default: b.append(c);
      }
    }
    return b.toString();
  }

  static String page(String title, String body) {
    return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title)
        + "</title><style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        + ".banner{background:#0b4f6c;color:#fff;padding:.6em 1em;border-radius:4px;font-size:1.2em}"
        + ".app{border:1px solid #ddd;padding:.6em 1em;margin:.5em 0;border-radius:4px}"
        + "button{padding:.4em 1.2em}</style></head><body>" + body + "</body></html>";
  }

  /**
   * What every page of the sandbox answers with: no caching (the pages show patient data), no
   * framing (clickjacking of the Launch and End buttons), scripts only from the page's own origin,
   * no MIME sniffing, no referrer to other sites (not no-referrer: browsers then send
   * {@code Origin: null} on the page's own form posts, and the Origin check would refuse them).
   */
  static void securityHeaders(HttpServletResponse resp) {
    resp.setHeader("Cache-Control", "no-store");
    resp.setHeader("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline';"
        + " object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    resp.setHeader("X-Frame-Options", "DENY");
    resp.setHeader("X-Content-Type-Options", "nosniff");
    resp.setHeader("Referrer-Policy", "same-origin");
  }

  static void send(HttpServletResponse resp, int status, String html) throws IOException {
    write(resp, status, "text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8));
  }

  static void write(HttpServletResponse resp, int status, String contentType, byte[] b) throws IOException {
    resp.setStatus(status);
    resp.setContentType(contentType);
    securityHeaders(resp);
    resp.setContentLength(b.length);
    resp.getOutputStream().write(b);
  }

  /** A short random reference that ties an error page to its line in the server's log. */
  static String newReference() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  /**
   * An error page that says what the user can do next (and, for failures, a reference to the
   * server's log); never an exception's message, which can carry internals (URLs, ids, the answers
   * of other servers).
   */
  static void sendError(HttpServletResponse resp, int status, String title, String what, String back)
      throws IOException {
    send(resp, status, page(title, "<h1>" + esc(title) + "</h1><p id=\"error\">" + esc(what) + "</p>"
        + (back == null ? "" : "<p><a href=\"" + esc(back) + "\">Back</a></p>")));
  }

  static void redirect(HttpServletResponse resp, URI to) {
    resp.setStatus(302);
    resp.setHeader("Cache-Control", "no-store");
    resp.setHeader("Referrer-Policy", "same-origin");
    resp.setHeader("Location", to.toString());
  }

  static String cookie(HttpServletRequest req, String name) {
    if (req.getCookies() != null) {
      for (Cookie c : req.getCookies()) {
        if (c.getName().equals(name)) {
          return c.getValue();
        }
      }
    }
    return null;
  }

  /** A fresh session id: 192 bits from a CSPRNG. */
  static String newId() {
    byte[] b = new byte[24];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /**
   * Sets a session cookie: HttpOnly, SameSite=Lax, scoped to {@code path}, and Secure when the page
   * is served over https (directly, or behind a TLS proxy as {@code publicBase} says).
   */
  static void setCookie(HttpServletResponse resp, HttpServletRequest req, URI publicBase, String name,
      String value, String path) {
    boolean secure = req.isSecure() || "https".equalsIgnoreCase(publicBase.getScheme());
    resp.addHeader("Set-Cookie", name + "=" + value + "; Path=" + path + "; HttpOnly; SameSite=Lax"
        + (secure ? "; Secure" : ""));
  }

  /** Tells the browser to drop a cookie set by {@link #setCookie}. */
  static void clearCookie(HttpServletResponse resp, HttpServletRequest req, URI publicBase, String name,
      String path) {
    boolean secure = req.isSecure() || "https".equalsIgnoreCase(publicBase.getScheme());
    resp.addHeader("Set-Cookie", name + "=; Path=" + path + "; Max-Age=0; HttpOnly; SameSite=Lax"
        + (secure ? "; Secure" : ""));
  }

  /** {@code scheme://host[:port]} of a URL, as browsers send it in the Origin header. */
  static String origin(URI u) {
    int port = u.getPort();
    boolean defaultPort = port == -1 || ("http".equals(u.getScheme()) && port == 80)
        || ("https".equals(u.getScheme()) && port == 443);
    return u.getScheme() + "://" + u.getHost() + (defaultPort ? "" : ":" + port);
  }

  /**
   * A form POST that a page of {@code publicBase} itself sent: the form's CSRF token matches the
   * session's (compared in constant time), and the Origin header, when the browser sends one
   * (all current browsers do on POST), names that origin.
   */
  static boolean isOwnFormPost(HttpServletRequest req, URI publicBase, String sessionToken) {
    String origin = req.getHeader("Origin");
    if (origin != null && !origin.equals(origin(publicBase))) {
      return false;
    }
    return constantTimeEquals(req.getParameter("csrf"), sessionToken);
  }

  static boolean constantTimeEquals(String a, String b) {
    return a != null && b != null && java.security.MessageDigest.isEqual(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  /** The hidden field that carries the session's CSRF token in every form. */
  static String csrfField(String token) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(token) + "\">";
  }

  static URI fullUrl(HttpServletRequest req) {
    String q = req.getQueryString();
    return URI.create(req.getRequestURL() + (q == null ? "" : "?" + q));
  }
}
