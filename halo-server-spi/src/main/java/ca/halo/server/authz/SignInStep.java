package ca.halo.server.authz;

import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * The next step of a sign-in: the user is authenticated, or the browser must be sent somewhere
 * (an upstream IdP), or shown a page (a login form), or the sign-in failed.
 */
public final class SignInStep {
  /** Which step this is. */
  public enum Kind { AUTHENTICATED, REDIRECT, PAGE, FAILED }

  private final Kind kind;
  private final AuthenticatedUser user;
  private final URI redirect;
  private final String html;
  private final String error;

  private SignInStep(Kind kind, AuthenticatedUser user, URI redirect, String html, String error) {
    this.kind = kind;
    this.user = user;
    this.redirect = redirect;
    this.html = html;
    this.error = error;
  }

  public static SignInStep authenticated(AuthenticatedUser user) {
    return new SignInStep(Kind.AUTHENTICATED, Objects.requireNonNull(user), null, null, null);
  }

  public static SignInStep redirect(URI to) {
    return new SignInStep(Kind.REDIRECT, null, Objects.requireNonNull(to), null, null);
  }

  /** An HTML page to show (UTF-8). It must escape anything it echoes. */
  public static SignInStep page(String html) {
    return new SignInStep(Kind.PAGE, null, null, Objects.requireNonNull(html), null);
  }

  /** The sign-in failed; the app is sent {@code access_denied}. */
  public static SignInStep failed(String reason) {
    return new SignInStep(Kind.FAILED, null, null, null, Objects.requireNonNull(reason));
  }

  public Kind kind() { return kind; }
  public Optional<AuthenticatedUser> user() { return Optional.ofNullable(user); }
  public Optional<URI> redirectUri() { return Optional.ofNullable(redirect); }
  public Optional<String> html() { return Optional.ofNullable(html); }
  public Optional<String> error() { return Optional.ofNullable(error); }

  @Override
  public String toString() {
    return "SignInStep{" + kind + "}";
  }
}
