package ca.halo.server.authz;

import ca.halo.core.SmartScopes;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A client the SoFA's authorization server knows: its id, how it authenticates, where it may be
 * redirected, and the scopes it may have. The App Catalog supplies these for SMART apps; a PoC
 * (EMR) is registered the same way.
 *
 * <p>Immutable and thread-safe. {@link #toString()} never prints the secret.
 */
public final class RegisteredClient {
  /** How the client authenticates at the token endpoint. */
  public enum Type {
    /** No secret; PKCE protects the code (SMART {@code client-public}). */
    PUBLIC,
    /** {@code client_secret_basic} (SMART {@code client-confidential-symmetric}). */
    CONFIDENTIAL_SYMMETRIC,
    /** {@code private_key_jwt} (SMART {@code client-confidential-asymmetric}). */
    CONFIDENTIAL_ASYMMETRIC
  }

  private final String clientId;
  private final String name;
  private final String appId;
  private final Type type;
  private final Set<URI> redirectUris;
  private final SmartScopes allowedScopes;
  private final String secret;
  private final String jwksJson;
  private final URI launchUrl;

  private RegisteredClient(Builder b) {
    this.clientId = b.clientId;
    this.name = b.name == null ? b.clientId : b.name;
    this.appId = b.appId;
    this.type = b.type;
    this.redirectUris = Set.copyOf(b.redirectUris);
    this.allowedScopes = b.allowedScopes;
    this.secret = b.secret;
    this.jwksJson = b.jwksJson;
    this.launchUrl = b.launchUrl;
  }

  public static Builder builder(String clientId) {
    return new Builder(clientId);
  }

  public String clientId() { return clientId; }
  public String name() { return name; }
  /** The App Catalog id of this app, when it came from the catalog. */
  public Optional<String> appId() { return Optional.ofNullable(appId); }
  public Type type() { return type; }
  /** Redirect URIs, matched exactly (no prefix or pattern matching). */
  public Set<URI> redirectUris() { return redirectUris; }
  public SmartScopes allowedScopes() { return allowedScopes; }
  Optional<String> secret() { return Optional.ofNullable(secret); }
  /** The public JWK set of a {@code private_key_jwt} client, as JSON. */
  public Optional<String> jwksJson() { return Optional.ofNullable(jwksJson); }
  public Optional<URI> launchUrl() { return Optional.ofNullable(launchUrl); }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RegisteredClient)) {
      return false;
    }
    RegisteredClient c = (RegisteredClient) o;
    return clientId.equals(c.clientId) && name.equals(c.name) && Objects.equals(appId, c.appId)
        && type == c.type && redirectUris.equals(c.redirectUris)
        && allowedScopes.equals(c.allowedScopes) && Objects.equals(secret, c.secret)
        && Objects.equals(jwksJson, c.jwksJson) && Objects.equals(launchUrl, c.launchUrl);
  }

  @Override
  public int hashCode() {
    return Objects.hash(clientId, appId, type, redirectUris);
  }

  @Override
  public String toString() {
    return "RegisteredClient{" + clientId + ", " + type + ", appId=" + appId + "}";
  }

  /** Builds a {@link RegisteredClient}; {@link #build()} checks it is complete. */
  public static final class Builder {
    private final String clientId;
    private String name;
    private String appId;
    private Type type = Type.PUBLIC;
    private final Set<URI> redirectUris = new LinkedHashSet<>();
    private SmartScopes allowedScopes = SmartScopes.empty();
    private String secret;
    private String jwksJson;
    private URI launchUrl;

    private Builder(String clientId) {
      this.clientId = Objects.requireNonNull(clientId, "clientId");
    }

    public Builder name(String v) { this.name = v; return this; }
    public Builder appId(String v) { this.appId = v; return this; }
    public Builder type(Type v) { this.type = Objects.requireNonNull(v); return this; }
    public Builder redirectUri(URI v) { this.redirectUris.add(Objects.requireNonNull(v)); return this; }
    public Builder allowedScopes(SmartScopes v) { this.allowedScopes = Objects.requireNonNull(v); return this; }
    public Builder secret(String v) { this.secret = v; return this; }
    public Builder jwksJson(String v) { this.jwksJson = v; return this; }
    public Builder launchUrl(URI v) { this.launchUrl = v; return this; }

    public RegisteredClient build() {
      if (clientId.isBlank()) {
        throw new IllegalStateException("clientId must not be blank");
      }
      if (type == Type.CONFIDENTIAL_SYMMETRIC && (secret == null || secret.length() < 16)) {
        throw new IllegalStateException(clientId + ": a symmetric client needs a secret of at"
            + " least 16 characters");
      }
      if (type == Type.CONFIDENTIAL_ASYMMETRIC && jwksJson == null) {
        throw new IllegalStateException(clientId + ": a private_key_jwt client needs a JWK set");
      }
      for (URI u : redirectUris) {
        if (!u.isAbsolute() || u.getFragment() != null) {
          throw new IllegalStateException(clientId + ": redirect URI " + u
              + " must be absolute and carry no fragment");
        }
      }
      return new RegisteredClient(this);
    }
  }
}
