package ca.halo.sof;

import java.net.URI;
import java.util.Objects;

/**
 * The first leg of an authorization: where to send the user's browser, and what to remember until
 * it comes back.
 *
 * <p>Immutable and thread-safe. The URL carries {@code state} and the PKCE challenge, which are
 * not secret; the verifier stays in {@link #pending()}.
 */
public final class AuthorizationRedirect {
  private final URI uri;
  private final PendingAuthorization pending;

  AuthorizationRedirect(URI uri, PendingAuthorization pending) {
    this.uri = Objects.requireNonNull(uri);
    this.pending = Objects.requireNonNull(pending);
  }

  /** The authorization URL to redirect the browser to (HTTP 302 or {@code window.location}). */
  public URI uri() {
    return uri;
  }

  /** Keep this server side until the callback. */
  public PendingAuthorization pending() {
    return pending;
  }

  @Override
  public String toString() {
    return "AuthorizationRedirect{pending=" + pending + "}";
  }
}
