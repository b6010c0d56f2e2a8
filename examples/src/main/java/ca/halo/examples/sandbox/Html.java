package ca.halo.examples.sandbox;

import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/** Small helpers for the sandbox's web pages. */
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

  static void send(HttpServletResponse resp, int status, String html) throws IOException {
    byte[] b = html.getBytes(StandardCharsets.UTF_8);
    resp.setStatus(status);
    resp.setContentType("text/html; charset=utf-8");
    resp.setHeader("Cache-Control", "no-store");
    resp.setContentLength(b.length);
    resp.getOutputStream().write(b);
  }

  static void redirect(HttpServletResponse resp, URI to) {
    resp.setStatus(302);
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

  static String newSession(HttpServletResponse resp, String name, String path) {
    byte[] b = new byte[24];
    RANDOM.nextBytes(b);
    String id = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    resp.addHeader("Set-Cookie", name + "=" + id + "; Path=" + path + "; HttpOnly; SameSite=Lax");
    return id;
  }

  static URI fullUrl(HttpServletRequest req) {
    String q = req.getQueryString();
    return URI.create(req.getRequestURL() + (q == null ? "" : "?" + q));
  }
}
