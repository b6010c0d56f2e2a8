package ca.halo.server.security;

import ca.halo.core.SmartScopes;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Who made a request, as established from a validated access token: the OAuth client, the user
 * (subject), the scopes granted, and, for tokens issued to a SMART app at launch, the launch
 * session and patient in context.
 *
 * <p>Immutable and thread-safe. {@link #toString()} prints no patient id.
 */
public final class Principal {
  private final String clientId;
  private final String subject;
  private final SmartScopes scopes;
  private final String sessionId;
  private final String patient;
  private final String fhirUser;
  private final Instant expiresAt;
  private final String tokenId;
  private final String issuer;

  private Principal(Builder b) {
    this.clientId = Objects.requireNonNull(b.clientId, "clientId");
    this.subject = b.subject;
    this.scopes = b.scopes;
    this.sessionId = b.sessionId;
    this.patient = b.patient;
    this.fhirUser = b.fhirUser;
    this.expiresAt = b.expiresAt;
    this.tokenId = b.tokenId;
    this.issuer = b.issuer;
  }

  public static Builder builder(String clientId) {
    Builder b = new Builder();
    b.clientId = clientId;
    return b;
  }

  public String clientId() {
    return clientId;
  }

  /** The user the token speaks for; empty for a backend-services token. */
  public Optional<String> subject() {
    return Optional.ofNullable(subject);
  }

  public SmartScopes scopes() {
    return scopes;
  }

  /** The SoFA launch session the token was issued for (never the launch id itself). */
  public Optional<String> sessionId() {
    return Optional.ofNullable(sessionId);
  }

  /** The patient in context for a launch token. */
  public Optional<String> patient() {
    return Optional.ofNullable(patient);
  }

  public Optional<String> fhirUser() {
    return Optional.ofNullable(fhirUser);
  }

  public Optional<Instant> expiresAt() {
    return Optional.ofNullable(expiresAt);
  }

  /** Who issued the token ({@code iss}), when known. */
  public Optional<String> issuer() {
    return Optional.ofNullable(issuer);
  }

  /** The token's id ({@code jti}), when it has one: what a revocation names. */
  public Optional<String> tokenId() {
    return Optional.ofNullable(tokenId);
  }

  /**
   * Whether the token speaks for a user: it has a subject other than its own client id (a
   * {@code client_credentials} token of this SoFA names the client as its subject). Tokens of an
   * external IdP count as a user's whenever their {@code sub} differs from the client id.
   */
  public boolean hasUser() {
    return subject != null && !subject.isBlank() && !subject.equals(clientId);
  }

  /**
   * What owns something this principal made on the server (a subscription, a stored search):
   * client, user and, for a launch token, the launch session.
   */
  public String ownerKey() {
    return bindingKey() + "#" + (sessionId == null ? "" : sessionId);
  }

  /** The binding key of a caller: client id and subject. */
  public String bindingKey() {
    return clientId + "|" + (subject == null ? "" : subject);
  }

  /**
   * This principal as JSON, for a store that keeps it beyond its request (a subscription's
   * subscriber). It holds no token, only what was read from one.
   */
  public String toJson() {
    com.fasterxml.jackson.databind.node.ObjectNode o = ca.halo.core.internal.Json.object();
    o.put("client_id", clientId);
    putIf(o, "sub", subject);
    o.put("scope", scopes.format());
    putIf(o, "session", sessionId);
    putIf(o, "patient", patient);
    putIf(o, "fhirUser", fhirUser);
    if (expiresAt != null) {
      o.put("exp", expiresAt.toEpochMilli());
    }
    putIf(o, "jti", tokenId);
    putIf(o, "iss", issuer);
    return ca.halo.core.internal.Json.write(o);
  }

  /** Reads {@link #toJson()}. @throws ca.halo.core.HaloParseException if it is not one */
  public static Principal fromJson(String json) {
    com.fasterxml.jackson.databind.node.ObjectNode o =
        ca.halo.core.internal.Json.parseObject(json, "principal");
    String client = ca.halo.core.internal.Json.requiredString(o, "client_id", "principal");
    Builder b = builder(client)
        .subject(ca.halo.core.internal.Json.optionalString(o, "sub", "principal"))
        .sessionId(ca.halo.core.internal.Json.optionalString(o, "session", "principal"))
        .patient(ca.halo.core.internal.Json.optionalString(o, "patient", "principal"))
        .fhirUser(ca.halo.core.internal.Json.optionalString(o, "fhirUser", "principal"))
        .tokenId(ca.halo.core.internal.Json.optionalString(o, "jti", "principal"))
        .issuer(ca.halo.core.internal.Json.optionalString(o, "iss", "principal"));
    String scope = ca.halo.core.internal.Json.optionalString(o, "scope", "principal");
    try {
      b.scopes(SmartScopes.parse(scope));
    } catch (IllegalArgumentException e) {
      throw new ca.halo.core.HaloParseException("principal: malformed scope");
    }
    if (o.hasNonNull("exp")) {
      b.expiresAt(Instant.ofEpochMilli(o.get("exp").asLong()));
    }
    return b.build();
  }

  private static void putIf(com.fasterxml.jackson.databind.node.ObjectNode o, String k, String v) {
    if (v != null) {
      o.put(k, v);
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Principal)) {
      return false;
    }
    Principal p = (Principal) o;
    return clientId.equals(p.clientId) && Objects.equals(subject, p.subject)
        && scopes.equals(p.scopes) && Objects.equals(sessionId, p.sessionId)
        && Objects.equals(patient, p.patient) && Objects.equals(fhirUser, p.fhirUser)
        && Objects.equals(expiresAt, p.expiresAt) && Objects.equals(tokenId, p.tokenId)
        && Objects.equals(issuer, p.issuer);
  }

  @Override
  public int hashCode() {
    return Objects.hash(clientId, subject, scopes, sessionId, patient, fhirUser, expiresAt, tokenId);
  }

  @Override
  public String toString() {
    return "Principal{clientId=" + clientId + ", subject=" + subject + ", scopes=" + scopes
        + ", launchSession=" + (sessionId != null) + "}";
  }

  /** Builds a {@link Principal}. */
  public static final class Builder {
    private String clientId;
    private String subject;
    private SmartScopes scopes = SmartScopes.empty();
    private String sessionId;
    private String patient;
    private String fhirUser;
    private Instant expiresAt;
    private String tokenId;
    private String issuer;

    private Builder() {}

    public Builder subject(String v) { this.subject = v; return this; }
    public Builder scopes(SmartScopes v) { this.scopes = Objects.requireNonNull(v); return this; }
    public Builder sessionId(String v) { this.sessionId = v; return this; }
    public Builder patient(String v) { this.patient = v; return this; }
    public Builder fhirUser(String v) { this.fhirUser = v; return this; }
    public Builder expiresAt(Instant v) { this.expiresAt = v; return this; }
    public Builder tokenId(String v) { this.tokenId = v; return this; }
    public Builder issuer(String v) { this.issuer = v; return this; }

    public Principal build() {
      return new Principal(this);
    }
  }
}
