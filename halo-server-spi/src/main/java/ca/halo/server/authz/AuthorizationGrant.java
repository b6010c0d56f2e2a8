package ca.halo.server.authz;

import ca.halo.core.SmartScopes;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * What a user granted a client: held by an authorization code until it is redeemed, then by the
 * grant that its access and refresh tokens belong to (a replayed code or refresh token ends the
 * grant, and every token of it with it).
 *
 * <pre>{@code
 * AuthorizationGrant g = AuthorizationGrant.builder("app", scopes, user)
 *     .redirectUri(uri).codeChallenge(challenge).sessionId(session).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} prints no challenge or nonce.
 *
 * <p>Spec: RFC 6749 sections 4.1.2-4.1.3, 6 and 10.4; RFC 7636 section 4.6.
 */
public final class AuthorizationGrant {
  private final String clientId;
  private final SmartScopes scopes;
  private final AuthenticatedUser user;
  private final URI redirectUri;
  private final String codeChallenge;
  private final String sessionId;
  private final String nonce;

  private AuthorizationGrant(Builder b) {
    this.clientId = b.clientId;
    this.scopes = b.scopes;
    this.user = b.user;
    this.redirectUri = b.redirectUri;
    this.codeChallenge = b.codeChallenge;
    this.sessionId = b.sessionId;
    this.nonce = b.nonce;
  }

  public static Builder builder(String clientId, SmartScopes scopes, AuthenticatedUser user) {
    return new Builder(clientId, scopes, user);
  }

  public String clientId() { return clientId; }
  public SmartScopes scopes() { return scopes; }
  public AuthenticatedUser user() { return user; }
  /** The redirect URI of the authorization request, which the code exchange must repeat. */
  public Optional<URI> redirectUri() { return Optional.ofNullable(redirectUri); }
  /** The PKCE S256 challenge the code exchange must answer. */
  public Optional<String> codeChallenge() { return Optional.ofNullable(codeChallenge); }
  /** The launch session, for an EHR launch. */
  public Optional<String> sessionId() { return Optional.ofNullable(sessionId); }
  public Optional<String> nonce() { return Optional.ofNullable(nonce); }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AuthorizationGrant)) {
      return false;
    }
    AuthorizationGrant g = (AuthorizationGrant) o;
    return clientId.equals(g.clientId) && scopes.equals(g.scopes) && user.equals(g.user)
        && Objects.equals(redirectUri, g.redirectUri) && Objects.equals(codeChallenge, g.codeChallenge)
        && Objects.equals(sessionId, g.sessionId) && Objects.equals(nonce, g.nonce);
  }

  @Override
  public int hashCode() {
    return Objects.hash(clientId, scopes, user, sessionId);
  }

  @Override
  public String toString() {
    return "AuthorizationGrant{client=" + clientId + ", user=" + user.subject() + "}";
  }

  /** Builds an {@link AuthorizationGrant}; {@link #build()} checks it is complete. */
  public static final class Builder {
    private final String clientId;
    private final SmartScopes scopes;
    private final AuthenticatedUser user;
    private URI redirectUri;
    private String codeChallenge;
    private String sessionId;
    private String nonce;

    private Builder(String clientId, SmartScopes scopes, AuthenticatedUser user) {
      this.clientId = clientId;
      this.scopes = scopes;
      this.user = user;
    }

    public Builder redirectUri(URI v) { this.redirectUri = v; return this; }
    public Builder codeChallenge(String v) { this.codeChallenge = v; return this; }
    public Builder sessionId(String v) { this.sessionId = v; return this; }
    public Builder nonce(String v) { this.nonce = v; return this; }

    public AuthorizationGrant build() {
      if (clientId == null || scopes == null || user == null) {
        throw new IllegalStateException("clientId, scopes and user are required");
      }
      return new AuthorizationGrant(this);
    }
  }
}
