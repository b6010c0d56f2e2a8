package ca.halo.conformance.internal;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plays a user's browser through an authorization request: follows redirects, fills the first
 * form with a password field (hidden fields kept, the user name in the field named like one), and
 * stops at the first redirect to the client's redirect URI, or at a page that is not a sign-in
 * form. Keeps cookies, so a second authorization may pass by single sign-on.
 */
public final class Browser {
  /** Sign-in pages longer than this are not searched for a form. */
  private static final int MAX_PAGE = 256 * 1024;
  private static final Pattern INPUT = Pattern.compile("<input\\b([^>]*)>", Pattern.CASE_INSENSITIVE);
  private static final Pattern ATTR = Pattern.compile("([a-zA-Z_:-]+)\\s*=\\s*(\"[^\"]*\"|'[^']*'|[^\\s>\"']+)");
  private final Http http = Http.withCookies();
  private final String username;
  private final String password;
  private final Trust trust;

  /** A browser that goes only to {@code trust}'s origins (and stops at the client's redirect URI). */
  public Browser(String username, String password, Trust trust) {
    this.username = username;
    this.password = password;
    this.trust = trust;
  }

  /** Where an authorization request ended. */
  public static final class Outcome {
    /** The redirect back to the client, if there was one. */
    public final URI redirect;
    /** The last HTTP status seen. */
    public final int status;

    Outcome(URI redirect, int status) {
      this.redirect = redirect;
      this.status = status;
    }

    public Map<String, String> params() {
      return redirect == null ? Map.of() : Browser.params(redirect);
    }

    public Optional<String> param(String name) {
      return Optional.ofNullable(params().get(name));
    }
  }

  /** Follows {@code authorize} until the server sends the browser to {@code redirectUri} (or stops). */
  public Outcome authorize(URI authorize, String redirectUri) {
    Http.Response r = http.get(trust.require(authorize, "the authorization endpoint"));
    boolean signedIn = false;
    for (int hops = 0; hops < 12; hops++) {
      if (r.status >= 300 && r.status < 400 && r.header("location").isPresent()) {
        URI loc = r.uri.resolve(r.header("location").get());
        if (startsWith(loc, redirectUri)) {
          return new Outcome(loc, r.status);
        }
        r = http.get(trust.require(loc, "a redirect of the sign-in to"));
        continue;
      }
      if (r.status == 200 && !signedIn) {
        Optional<Map.Entry<URI, Map<String, String>>> form = signInForm(r);
        if (form.isPresent()) {
          URI action = trust.require(form.get().getKey(), "the sign-in form's action");
          String origin = action.getScheme() + "://" + action.getRawAuthority();
          r = http.postForm(action, form.get().getValue(), "Origin", origin);
          signedIn = true;
          continue;
        }
      }
      return new Outcome(null, r.status);
    }
    return new Outcome(null, r.status);
  }

  /** The first form with a password field, filled in; found by a linear scan of a bounded page. */
  private Optional<Map.Entry<URI, Map<String, String>>> signInForm(Http.Response r) {
    String page = r.body.length() > MAX_PAGE ? r.body.substring(0, MAX_PAGE) : r.body;
    String lower = page.toLowerCase(Locale.ROOT);
    int from = 0;
    while (true) {
      int open = lower.indexOf("<form", from);
      if (open < 0) {
        return Optional.empty();
      }
      int headEnd = lower.indexOf('>', open);
      int close = headEnd < 0 ? -1 : lower.indexOf("</form", headEnd);
      if (close < 0) {
        return Optional.empty();
      }
      String inner = page.substring(headEnd + 1, close);
      from = close + 6;
      Map<String, String> attrs = attrs(page.substring(open + 5, headEnd));
      URI action = r.uri.resolve(attrs.getOrDefault("action", r.uri.toString()).replace("&amp;", "&"));
      Map<String, String> form = new LinkedHashMap<>();
      boolean hasPassword = false;
      Matcher in = INPUT.matcher(inner);
      while (in.find()) {
        Map<String, String> a = attrs(in.group(1));
        String name = a.get("name");
        if (name == null) {
          continue;
        }
        String type = a.getOrDefault("type", "text").toLowerCase(Locale.ROOT);
        if (type.equals("password")) {
          hasPassword = true;
          form.put(name, password);
        } else if (type.equals("hidden")) {
          form.put(name, a.getOrDefault("value", "").replace("&amp;", "&"));
        } else if (type.equals("text") || type.equals("email")) {
          form.put(name, username);
        }
      }
      if (!hasPassword) {
        continue;
      }
      return Optional.of(Map.entry(action, form));
    }
  }

  private static boolean startsWith(URI loc, String redirectUri) {
    String s = loc.toString();
    return s.equals(redirectUri) || s.startsWith(redirectUri + "?") || s.startsWith(redirectUri + "#");
  }

  static Map<String, String> attrs(String s) {
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = ATTR.matcher(s);
    while (m.find()) {
      String v = m.group(2);
      boolean quoted = v.startsWith("\"") || v.startsWith("'");
      out.put(m.group(1).toLowerCase(Locale.ROOT), quoted ? v.substring(1, v.length() - 1) : v);
    }
    return out;
  }

  /** The query parameters of a URI, decoded (first value of each). */
  public static Map<String, String> params(URI uri) {
    Map<String, String> out = new LinkedHashMap<>();
    String q = uri.getRawQuery();
    if (q == null) {
      return out;
    }
    for (String pair : q.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.putIfAbsent(k, v);
    }
    return out;
  }
}
