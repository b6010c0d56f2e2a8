package ca.halo.server.authz;

import ca.halo.core.SmartScopes;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * An authorization request waiting for its user to sign in: what {@code /authorize} checked and
 * will need again when the sign-in completes, the browser it is bound to, and how many sign-in
 * attempts it has had.
 *
 * <pre>{@code
 * PendingSignIn p = PendingSignIn.builder("app", redirectUri, state, challenge, scopes)
 *     .browserBinding(hash).remoteAddress("203.0.113.7").build();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} prints no state, challenge or binding.
 *
 * <p>Spec: RFC 6749 section 4.1.1, RFC 7636 section 4.3; the binding is the login-CSRF defence
 * of RFC 6749 section 10.12 applied to the sign-in form.
 */
public final class PendingSignIn {
  private final String clientId;
  private final String clientName;
  private final URI redirectUri;
  private final String state;
  private final String codeChallenge;
  private final SmartScopes scopes;
  private final String nonce;
  private final String sessionId;
  private final String browserBinding;
  private final String remoteAddress;
  private final int attempts;

  private PendingSignIn(Builder b, int attempts) {
    this.clientId = b.clientId;
    this.clientName = b.clientName == null ? b.clientId : b.clientName;
    this.redirectUri = b.redirectUri;
    this.state = b.state;
    this.codeChallenge = b.codeChallenge;
    this.scopes = b.scopes;
    this.nonce = b.nonce;
    this.sessionId = b.sessionId;
    this.browserBinding = b.browserBinding;
    this.remoteAddress = b.remoteAddress;
    this.attempts = attempts;
  }

  public static Builder builder(String clientId, URI redirectUri, String state, String codeChallenge,
      SmartScopes scopes) {
    return new Builder(clientId, redirectUri, state, codeChallenge, scopes);
  }

  public String clientId() { return clientId; }
  public String clientName() { return clientName; }
  public URI redirectUri() { return redirectUri; }
  public String state() { return state; }
  /** The PKCE S256 challenge. */
  public String codeChallenge() { return codeChallenge; }
  /** The scopes granted (already narrowed to what the client may have). */
  public SmartScopes scopes() { return scopes; }
  public Optional<String> nonce() { return Optional.ofNullable(nonce); }
  /** The launch session, for an EHR launch. */
  public Optional<String> sessionId() { return Optional.ofNullable(sessionId); }
  /** A hash of the browser cookie the sign-in is bound to; the callback must present it. */
  public String browserBinding() { return browserBinding; }
  /** The address {@code /authorize} came from (each address may hold only so many sign-ins). */
  public String remoteAddress() { return remoteAddress; }
  /** Sign-in attempts so far. */
  public int attempts() { return attempts; }

  /** This sign-in with one more attempt counted. */
  public PendingSignIn withAttempt() {
    Builder b = new Builder(clientId, redirectUri, state, codeChallenge, scopes).clientName(clientName)
        .nonce(nonce).sessionId(sessionId).browserBinding(browserBinding).remoteAddress(remoteAddress);
    return new PendingSignIn(b, attempts + 1);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PendingSignIn)) {
      return false;
    }
    PendingSignIn p = (PendingSignIn) o;
    return clientId.equals(p.clientId) && clientName.equals(p.clientName)
        && redirectUri.equals(p.redirectUri) && state.equals(p.state)
        && codeChallenge.equals(p.codeChallenge) && scopes.equals(p.scopes)
        && Objects.equals(nonce, p.nonce) && Objects.equals(sessionId, p.sessionId)
        && browserBinding.equals(p.browserBinding) && remoteAddress.equals(p.remoteAddress)
        && attempts == p.attempts;
  }

  @Override
  public int hashCode() {
    return Objects.hash(clientId, redirectUri, state, codeChallenge, attempts);
  }

  @Override
  public String toString() {
    return "PendingSignIn{client=" + clientId + ", attempts=" + attempts + "}";
  }

  /** Builds a {@link PendingSignIn}; {@link #build()} checks it is complete. */
  public static final class Builder {
    private final String clientId;
    private final URI redirectUri;
    private final String state;
    private final String codeChallenge;
    private final SmartScopes scopes;
    private String clientName;
    private String nonce;
    private String sessionId;
    private String browserBinding;
    private String remoteAddress;

    private Builder(String clientId, URI redirectUri, String state, String codeChallenge,
        SmartScopes scopes) {
      this.clientId = clientId;
      this.redirectUri = redirectUri;
      this.state = state;
      this.codeChallenge = codeChallenge;
      this.scopes = scopes;
    }

    public Builder clientName(String v) { this.clientName = v; return this; }
    public Builder nonce(String v) { this.nonce = v; return this; }
    public Builder sessionId(String v) { this.sessionId = v; return this; }
    public Builder browserBinding(String v) { this.browserBinding = v; return this; }
    public Builder remoteAddress(String v) { this.remoteAddress = v; return this; }

    public PendingSignIn build() {
      if (clientId == null || redirectUri == null || state == null || codeChallenge == null
          || scopes == null || browserBinding == null || remoteAddress == null) {
        throw new IllegalStateException("clientId, redirectUri, state, codeChallenge, scopes,"
            + " browserBinding and remoteAddress are required");
      }
      return new PendingSignIn(this, 0);
    }
  }
}
