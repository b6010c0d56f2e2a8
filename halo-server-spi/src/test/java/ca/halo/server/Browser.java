package ca.halo.server;

import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal browser and OAuth client for the server tests, written against the wire protocol
 * with the JDK's HTTP client (independent of the SDK's own client code). Keeps cookies, follows
 * nothing by itself.
 */
public final class Browser {
  public final HttpClient http;

  public Browser() {
    http = HttpClient.newBuilder().cookieHandler(new CookieManager())
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  public HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<String> postForm(URI uri, Map<String, String> form, String authorization)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form(form)));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  public static String form(Map<String, String> m) {
    StringBuilder b = new StringBuilder();
    m.forEach((k, v) -> b.append(b.length() == 0 ? "" : "&")
        .append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
        .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return b.toString();
  }

  public static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    if (uri.getRawQuery() == null) {
      return out;
    }
    for (String pair : uri.getRawQuery().split("&")) {
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }

  /** PKCE pair: verifier and S256 challenge. */
  public static String[] pkce() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    String verifier = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    try {
      String challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
      return new String[] {verifier, challenge};
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Opens an authorization URL made by someone else (the SDK's client) and, if a sign-in form
   * comes back, fills it in. Returns the last answer (normally the redirect to the app).
   */
  public HttpResponse<String> signIn(URI authorizeUrl, String username, String password)
      throws IOException, InterruptedException {
    HttpResponse<String> r = get(authorizeUrl);
    if (r.statusCode() == 200 && r.body().contains("name=\"interaction\"")) {
      Matcher m = Pattern.compile("name=\"interaction\" value=\"([^\"]+)\"").matcher(r.body());
      Matcher a = Pattern.compile("action=\"([^\"]+)\"").matcher(r.body());
      if (!m.find() || !a.find()) {
        throw new IllegalStateException("sign-in form without interaction");
      }
      r = postForm(URI.create(a.group(1).replace("&amp;", "&")),
          Map.of("interaction", m.group(1), "username", username, "password", password), null);
    }
    return r;
  }

  /** The Location header of a redirect answer. */
  public static URI location(HttpResponse<String> r) {
    return URI.create(r.headers().firstValue("Location").orElseThrow(
        () -> new IllegalStateException("expected a redirect, got HTTP " + r.statusCode())));
  }

  /** The result of an authorize round: the redirect back to the app (or the page shown). */
  public static final class Authz {
    public final String verifier;
    public final String state;
    public final HttpResponse<String> last;

    Authz(String verifier, String state, HttpResponse<String> last) {
      this.verifier = verifier;
      this.state = state;
      this.last = last;
    }

    public URI location() {
      return URI.create(last.headers().firstValue("Location").orElseThrow());
    }

    public Map<String, String> callback() {
      return query(location());
    }
  }

  /**
   * Runs /authorize with PKCE; if a sign-in form comes back, fills it with the user's
   * credentials. {@code extra} overrides or adds authorize parameters (null value removes).
   */
  public Authz authorize(URI authorizeEndpoint, Map<String, String> params, String username,
      String password) throws IOException, InterruptedException {
    String[] pkce = pkce();
    Map<String, String> p = new LinkedHashMap<>();
    p.put("response_type", "code");
    p.put("state", "st-" + System.nanoTime());
    p.put("code_challenge", pkce[1]);
    p.put("code_challenge_method", "S256");
    params.forEach((k, v) -> {
      if (v == null) {
        p.remove(k);
      } else {
        p.put(k, v);
      }
    });
    HttpResponse<String> r = signIn(URI.create(authorizeEndpoint + "?" + form(p)), username, password);
    return new Authz(pkce[0], p.get("state"), r);
  }
}
