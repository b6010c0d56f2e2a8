package ca.halo.examples.sandbox;

import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plays the user's browser in the scripted demo: opens an authorization URL, fills in the
 * sign-in form if one is shown, and returns where the server redirects back to. Keeps cookies, so
 * the jurisdiction's single sign-on carries from the EMR login to the app launch, as in a real
 * browser. Not for production use.
 */
public final class HeadlessBrowser {
  private final HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
      .followRedirects(HttpClient.Redirect.NEVER).build();
  private static final Pattern INTERACTION = Pattern.compile("name=\"interaction\" value=\"([^\"]+)\"");
  private static final Pattern ACTION = Pattern.compile("action=\"([^\"]+)\"");

  /** Follows an authorization URL through sign-in to the redirect back to the client. */
  public URI authorize(URI authorizeUrl, String username, String password)
      throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(authorizeUrl).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 200) {
      Matcher i = INTERACTION.matcher(r.body());
      Matcher a = ACTION.matcher(r.body());
      if (!i.find() || !a.find()) {
        throw new IllegalStateException("the authorization server showed a page without a sign-in form");
      }
      String form = "interaction=" + enc(i.group(1)) + "&username=" + enc(username)
          + "&password=" + enc(password);
      r = http.send(HttpRequest.newBuilder(URI.create(a.group(1).replace("&amp;", "&")))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(form)).build(),
          HttpResponse.BodyHandlers.ofString());
    }
    int status = r.statusCode();
    return URI.create(r.headers().firstValue("Location").orElseThrow(() ->
        new IllegalStateException("sign-in did not redirect back (HTTP " + status + ")")));
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** Whether the browser holds a single-sign-on session (for the demo's printout). */
  public boolean hasSession() {
    return !((CookieManager) http.cookieHandler().orElseThrow()).getCookieStore().getCookies().isEmpty();
  }
}
