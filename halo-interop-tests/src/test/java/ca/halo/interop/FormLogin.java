package ca.halo.interop;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plays a browser through a provider's real login (and consent) pages: follows redirects, fills
 * the first form it finds with the user's credentials (fields named username/login and password)
 * plus its hidden fields, until the provider redirects to {@code stopAt}.
 */
final class FormLogin {
  // Cookies are kept by hand: providers mark them Secure even on http://127.0.0.1 (browsers treat
  // loopback as a secure context; the JDK's CookieManager does not), so the jar ignores attributes.
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private final Map<String, String> jar = new LinkedHashMap<>();

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    if (!jar.isEmpty()) {
      StringBuilder c = new StringBuilder();
      jar.forEach((k, v) -> c.append(c.length() == 0 ? "" : "; ").append(k).append('=').append(v));
      b.header("Cookie", c.toString());
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    for (String sc : r.headers().allValues("Set-Cookie")) {
      String pair = sc.split(";", 2)[0];
      int eq = pair.indexOf('=');
      if (eq > 0) {
        String name = pair.substring(0, eq).trim();
        String value = pair.substring(eq + 1).trim();
        if (value.isEmpty() || sc.toLowerCase(java.util.Locale.ROOT).contains("max-age=0")) {
          jar.remove(name);
        } else {
          jar.put(name, value);
        }
      }
    }
    return r;
  }
  private static final Pattern FORM = Pattern.compile("<form[^>]*>.*?</form>", Pattern.DOTALL | Pattern.CASE_INSENSITIVE);
  private static final Pattern ACTION = Pattern.compile("action=\"([^\"]*)\"", Pattern.CASE_INSENSITIVE);
  private static final Pattern INPUT = Pattern.compile("<input([^>]*)>", Pattern.CASE_INSENSITIVE);
  private static final Pattern ATTR = Pattern.compile("(name|value|type)=\"([^\"]*)\"", Pattern.CASE_INSENSITIVE);

  URI login(URI start, String username, String password, String stopAt) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(start).GET());
    URI current = start;
    for (int step = 0; step < 20; step++) {
      if (r.statusCode() / 100 == 3) {
        URI loc = current.resolve(r.headers().firstValue("Location").orElseThrow());
        if (loc.toString().startsWith(stopAt)) {
          return loc;
        }
        current = loc;
        r = send(HttpRequest.newBuilder(loc).GET());
        continue;
      }
      Matcher f = FORM.matcher(r.body());
      if (r.statusCode() != 200 || !f.find()) {
        throw new AssertionError("expected a login page or a redirect, got HTTP " + r.statusCode()
            + " at " + current + ":\n" + r.body().substring(0, Math.min(2000, r.body().length())));
      }
      String form = f.group();
      Matcher a = ACTION.matcher(form);
      URI action = a.find() ? current.resolve(a.group(1).replace("&amp;", "&")) : current;
      Map<String, String> fields = new LinkedHashMap<>();
      Matcher in = INPUT.matcher(form);
      while (in.find()) {
        Map<String, String> at = new LinkedHashMap<>();
        Matcher m = ATTR.matcher(in.group(1));
        while (m.find()) {
          at.put(m.group(1).toLowerCase(java.util.Locale.ROOT), m.group(2).replace("&amp;", "&"));
        }
        String name = at.get("name");
        if (name == null) {
          continue;
        }
        if (name.equals("username") || name.equals("login")) {
          fields.put(name, username);
        } else if (name.equals("password")) {
          fields.put(name, password);
        } else if (!"checkbox".equals(at.get("type"))) {
          fields.put(name, at.getOrDefault("value", ""));
        }
      }
      StringBuilder body = new StringBuilder();
      fields.forEach((k, v) -> body.append(body.length() == 0 ? "" : "&")
          .append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
          .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
      current = action;
      r = send(HttpRequest.newBuilder(action).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    }
    throw new AssertionError("the login did not finish in 20 steps");
  }
}
