package ca.halo.core;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The PoC's Launch Initiator (HALO CA:SoF-1): builds the URL that opens a SMART app with
 * {@code iss} and {@code launch}.
 *
 * <pre>{@code
 * URI url = LaunchInitiator.launchUrl(app.launchUrl(), sofaBase, launchId);
 * }</pre>
 *
 * <p>Query parameters already in the app's launch URL are kept; {@code iss} and {@code launch}
 * are appended, percent-encoded. A fragment is kept at the end. Stateless and thread-safe.
 */
public final class LaunchInitiator {
  private LaunchInitiator() {}

  public static URI launchUrl(URI appLaunchUrl, URI iss, String launch) {
    Objects.requireNonNull(appLaunchUrl, "appLaunchUrl");
    Objects.requireNonNull(iss, "iss");
    Objects.requireNonNull(launch, "launch");
    if (!appLaunchUrl.isAbsolute()) {
      throw new IllegalArgumentException("the app launch URL must be absolute");
    }
    if (launch.isBlank()) {
      throw new IllegalArgumentException("launch must not be blank");
    }
    String s = appLaunchUrl.toString();
    String fragment = "";
    int hash = s.indexOf('#');
    if (hash >= 0) {
      fragment = s.substring(hash);
      s = s.substring(0, hash);
    }
    StringBuilder b = new StringBuilder(s);
    b.append(s.contains("?") ? (s.endsWith("?") || s.endsWith("&") ? "" : "&") : "?");
    b.append("iss=").append(URLEncoder.encode(iss.toString(), StandardCharsets.UTF_8));
    b.append("&launch=").append(URLEncoder.encode(launch, StandardCharsets.UTF_8));
    return URI.create(b + fragment);
  }
}
