package ca.halo.conformance.internal;

import java.net.InetAddress;
import java.net.URI;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The origins the kit talks to with the operator's credentials: the FHIR base's, plus any the
 * operator names (an IdP on another host). A server under test that points anywhere else (a
 * token endpoint, a sign-in form, a redirect, a websocket) fails the check instead of receiving a
 * secret or making the kit fetch a third party's page. Plain http only to loopback.
 */
public final class Trust {
  private final Set<String> origins = new LinkedHashSet<>();

  public Trust(URI base, Collection<URI> more) {
    origins.add(origin(base));
    for (URI u : more) {
      origins.add(origin(u));
    }
  }

  public static String origin(URI u) {
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") || scheme.equals("wss") ? 443 : 80;
    String s = scheme.equals("wss") ? "https" : scheme.equals("ws") ? "http" : scheme;
    return s + "://" + String.valueOf(u.getHost()).toLowerCase(Locale.ROOT) + ":" + port;
  }

  public boolean trusts(URI u) {
    return u.getHost() != null && origins.contains(origin(u)) && (isHttps(u) || loopback(u));
  }

  /** Fails the running check unless {@code u} may be called with credentials. */
  public URI require(URI u, String what) {
    if (!trusts(u)) {
      throw new CheckFailure(what + " " + Redact.query(u.toString()) + " is outside the origins the kit trusts "
          + origins + (isHttps(u) || loopback(u) ? "" : " (and plain http)")
          + "; if it is yours, add it with --trust-origin");
    }
    return u;
  }

  private static boolean isHttps(URI u) {
    String s = String.valueOf(u.getScheme()).toLowerCase(Locale.ROOT);
    return s.equals("https") || s.equals("wss");
  }

  static boolean loopback(URI u) {
    String h = u.getHost();
    if (h == null) {
      return false;
    }
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (!h.matches("[0-9.]+") && !h.startsWith("[")) {
      return false; // a name: not resolved here, not loopback
    }
    try {
      return InetAddress.getByName(h.replace("[", "").replace("]", "")).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return origins.toString();
  }
}
