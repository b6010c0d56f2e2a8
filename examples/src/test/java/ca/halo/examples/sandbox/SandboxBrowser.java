package ca.halo.examples.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.CookieManager;
import java.net.HttpCookie;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A browser for the sandbox's web pages in tests: one cookie jar for the EMR's and the apps'
 * cookies, no automatic redirects, and forms submitted the way a browser would (every input of
 * the form, hidden ones included). The jurisdiction's own sign-in form is left to
 * {@link HeadlessBrowser}, which keeps the single-sign-on cookie, so an app launched after the EMR
 * sign-in goes straight through.
 */
final class SandboxBrowser {
  private static final Pattern FORM = Pattern.compile("<form\\b([^>]*)>(.*?)</form>", Pattern.DOTALL);
  private static final Pattern ATTR = Pattern.compile("(\\w[\\w-]*)=\"([^\"]*)\"");
  private static final Pattern INPUT = Pattern.compile("<input\\b([^>]*)>");

  final CookieManager cookies = new CookieManager();
  final HttpClient http = HttpClient.newBuilder().cookieHandler(cookies)
      .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
  final HeadlessBrowser idp = new HeadlessBrowser();
  final URI base;

  SandboxBrowser(URI base) {
    this.base = base;
  }

  URI url(String path) {
    return URI.create(base + path);
  }

  HttpResponse<String> get(URI u) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return get(url(path));
  }

  /** Posts a form; {@code headers} are name, value pairs. */
  HttpResponse<String> post(URI u, Map<String, String> form, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(encode(form)));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Submits the form of {@code page} whose action is {@code action} and which carries every field
   * of {@code match}, with the fields of {@code set} filled in.
   */
  HttpResponse<String> submit(String page, String action, Map<String, String> match, Map<String, String> set,
      String... headers) throws IOException, InterruptedException {
    Map<String, String> fields = form(page, action, match);
    fields.putAll(set);
    return post(url(action), fields, headers);
  }

  /** The fields of the form of {@code page} with that action and those fields; fails if none. */
  static Map<String, String> form(String page, String action, Map<String, String> match) {
    Matcher f = FORM.matcher(page);
    while (f.find()) {
      Map<String, String> attrs = attrs(f.group(1));
      if (!"post".equalsIgnoreCase(attrs.get("method")) || !action.equals(attrs.get("action"))) {
        continue;
      }
      Map<String, String> fields = new LinkedHashMap<>();
      Matcher in = INPUT.matcher(f.group(2));
      while (in.find()) {
        Map<String, String> a = attrs(in.group(1));
        if (a.containsKey("name")) {
          fields.put(unescape(a.get("name")), unescape(a.getOrDefault("value", "")));
        }
      }
      if (fields.entrySet().containsAll(match.entrySet())) {
        return fields;
      }
    }
    throw new AssertionError("no form posting to " + action + " with " + match + " on the page:\n" + page);
  }

  private static Map<String, String> attrs(String s) {
    Map<String, String> out = new HashMap<>();
    Matcher m = ATTR.matcher(s);
    while (m.find()) {
      out.put(m.group(1).toLowerCase(java.util.Locale.ROOT), m.group(2));
    }
    return out;
  }

  private static String unescape(String s) {
    return s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
        .replace("&amp;", "&");
  }

  static String encode(Map<String, String> form) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, String> e : form.entrySet()) {
      b.append(b.length() == 0 ? "" : "&").append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8))
          .append('=').append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
    }
    return b.toString();
  }

  static URI location(HttpResponse<?> r) {
    return r.uri().resolve(r.headers().firstValue("Location").orElseThrow(() ->
        new AssertionError("HTTP " + r.statusCode() + " without a Location: " + r.body())));
  }

  static Map<String, String> query(URI u) {
    Map<String, String> out = new HashMap<>();
    if (u.getRawQuery() != null) {
      for (String pair : u.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        out.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
            eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  /** The value of the cookie {@code name} in the jar, or null. */
  String cookie(String name) {
    for (HttpCookie c : cookies.getCookieStore().getCookies()) {
      if (c.getName().equals(name)) {
        return c.getValue();
      }
    }
    return null;
  }

  /** Plants a cookie, as an attacker who can write cookies for the site would. */
  void plantCookie(String name, String value, String path) {
    HttpCookie c = new HttpCookie(name, value);
    c.setPath(path);
    c.setVersion(0);
    cookies.getCookieStore().add(base, c);
  }

  /** GET /emr/ until the jurisdiction's sign-in, then back to the EMR: returns the redirect to the IdP. */
  HttpResponse<String> startEmrSignIn() throws IOException, InterruptedException {
    HttpResponse<String> r = get("/emr/");
    if (r.statusCode() != 302) {
      throw new AssertionError("GET /emr/ without a session answered " + r.statusCode());
    }
    return r;
  }

  /** Signs the clinician in at the EMR and returns the chart page. */
  HttpResponse<String> signInToEmr() throws IOException, InterruptedException {
    return finishEmrSignIn(startEmrSignIn());
  }

  HttpResponse<String> finishEmrSignIn(HttpResponse<String> toIdp) throws IOException, InterruptedException {
    URI callback = idp.authorize(location(toIdp), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
    HttpResponse<String> r = get(callback);
    if (r.statusCode() != 302) {
      throw new AssertionError("the EMR's callback answered " + r.statusCode() + ": " + r.body());
    }
    r = get(location(r));
    if (r.statusCode() != 200) {
      throw new AssertionError("the EMR's chart answered " + r.statusCode() + ": " + r.body());
    }
    return r;
  }

  /** Presses Launch for {@code appId} on the chart; returns the EMR's redirect to the app. */
  HttpResponse<String> pressLaunch(String appId) throws IOException, InterruptedException {
    HttpResponse<String> chart = get("/emr/");
    HttpResponse<String> r = submit(chart.body(), "/emr/launch", Map.of("app", appId), Map.of());
    if (r.statusCode() != 302) {
      throw new AssertionError("Launch answered " + r.statusCode() + ": " + r.body());
    }
    return r;
  }

  /** Launches {@code appId} from the EMR and follows it through the app's authorization: the app's page. */
  HttpResponse<String> launchApp(String appId) throws IOException, InterruptedException {
    HttpResponse<String> r = get(location(pressLaunch(appId)));
    if (r.statusCode() != 302) {
      throw new AssertionError("the app's launch answered " + r.statusCode() + ": " + r.body());
    }
    return finishAppLaunch(r);
  }

  /** From the app's redirect to the authorization server to the app's page. */
  HttpResponse<String> finishAppLaunch(HttpResponse<String> toAuthorize) throws IOException, InterruptedException {
    URI callback = idp.authorize(location(toAuthorize), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
    HttpResponse<String> r = get(callback);
    if (r.statusCode() != 302) {
      throw new AssertionError("the app's callback answered " + r.statusCode() + ": " + r.body());
    }
    return get(location(r));
  }

  /** Waits (up to {@code timeout}) until {@code done} holds; true if it did. */
  static boolean eventually(Duration timeout, BooleanSupplier done) throws InterruptedException {
    Instant end = Instant.now().plus(timeout);
    while (Instant.now().isBefore(end)) {
      if (done.getAsBoolean()) {
        return true;
      }
      Thread.sleep(100);
    }
    return done.getAsBoolean();
  }

  /**
   * Sends {@code head} (request line and headers, CRLF-terminated, without the blank line) and then
   * {@code body} on a raw socket, and returns the response's status line, or "TIMEOUT" when none
   * came within {@code timeout}. The body is written on another thread and may be cut short when
   * the server answers and closes first, so a server that answers without reading everything is
   * seen as such.
   */
  static String rawStatusLine(URI base, String head, byte[] body, Duration timeout) throws IOException {
    try (Socket s = new Socket(base.getHost(), base.getPort())) {
      s.setSoTimeout((int) timeout.toMillis());
      OutputStream out = s.getOutputStream();
      out.write((head + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; i < body.length; i += 16 * 1024) {
            out.write(body, i, Math.min(16 * 1024, body.length - i));
          }
          out.flush();
        } catch (IOException e) {
          // the server answered and closed before reading it all: expected for a refused post
        }
      }, "raw-body-writer");
      writer.setDaemon(true);
      writer.start();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      try {
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
          line.append((char) c);
        }
      } catch (java.net.SocketTimeoutException e) {
        return "TIMEOUT";
      } catch (java.net.SocketException e) {
        return line.length() > 0 ? line.toString().trim() : "RESET";
      }
      return line.toString().trim();
    }
  }
}
