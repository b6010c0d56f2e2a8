package ca.halo.sof;

import ca.halo.core.HaloParseException;
import ca.halo.core.SmartScopes;
import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What an app must remember between sending the browser to the authorization endpoint and the
 * redirect back: issuer, endpoints, {@code state}, {@code nonce}, PKCE verifier, scopes.
 *
 * <pre>{@code
 * session.setAttribute("halo", redirect.pending().toJson());   // before the redirect
 * PendingAuthorization p = PendingAuthorization.parse(json);   // on the callback
 * }</pre>
 *
 * <p>Immutable and thread-safe. It holds secrets (the PKCE verifier): keep it server side, in the
 * user's session, never in a URL. {@link #toString()} prints none of them.
 */
public final class PendingAuthorization {
  private static final String WHAT = "pending authorization";

  private final URI iss;
  private final URI authorizationEndpoint;
  private final URI tokenEndpoint;
  private final String clientId;
  private final URI redirectUri;
  private final String state;
  private final String nonce;
  private final String codeVerifier;
  private final SmartScopes scopes;
  private final String launch;
  private final Instant createdAt;

  PendingAuthorization(
      URI iss, URI authorizationEndpoint, URI tokenEndpoint, String clientId, URI redirectUri,
      String state, String nonce, String codeVerifier, SmartScopes scopes, String launch,
      Instant createdAt) {
    this.iss = Objects.requireNonNull(iss);
    this.authorizationEndpoint = Objects.requireNonNull(authorizationEndpoint);
    this.tokenEndpoint = Objects.requireNonNull(tokenEndpoint);
    this.clientId = Objects.requireNonNull(clientId);
    this.redirectUri = Objects.requireNonNull(redirectUri);
    this.state = Objects.requireNonNull(state);
    this.nonce = nonce;
    this.codeVerifier = Objects.requireNonNull(codeVerifier);
    this.scopes = Objects.requireNonNull(scopes);
    this.launch = launch;
    this.createdAt = Objects.requireNonNull(createdAt);
  }

  public static PendingAuthorization parse(String json) {
    ObjectNode o = Json.parseObject(json, WHAT);
    try {
      return new PendingAuthorization(
          URI.create(Json.requiredString(o, "iss", WHAT)),
          URI.create(Json.requiredString(o, "authorization_endpoint", WHAT)),
          URI.create(Json.requiredString(o, "token_endpoint", WHAT)),
          Json.requiredString(o, "client_id", WHAT),
          URI.create(Json.requiredString(o, "redirect_uri", WHAT)),
          Json.requiredString(o, "state", WHAT),
          Json.optionalString(o, "nonce", WHAT),
          new com.nimbusds.oauth2.sdk.pkce.CodeVerifier(
              Json.requiredString(o, "code_verifier", WHAT)).getValue(),
          SmartScopes.parse(Json.requiredString(o, "scope", WHAT)),
          Json.optionalString(o, "launch", WHAT),
          Instant.parse(Json.requiredString(o, "created_at", WHAT)));
    } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
      throw new HaloParseException(WHAT + ": " + e.getMessage(), e);
    }
  }

  public String toJson() {
    ObjectNode o = Json.object();
    o.put("iss", iss.toString());
    o.put("authorization_endpoint", authorizationEndpoint.toString());
    o.put("token_endpoint", tokenEndpoint.toString());
    o.put("client_id", clientId);
    o.put("redirect_uri", redirectUri.toString());
    o.put("state", state);
    Json.putIfPresent(o, "nonce", nonce);
    o.put("code_verifier", codeVerifier);
    o.put("scope", scopes.format());
    Json.putIfPresent(o, "launch", launch);
    o.put("created_at", createdAt.toString());
    return Json.write(o);
  }

  /** The FHIR base the launch named ({@code iss}); also the token's audience. */
  public URI iss() {
    return iss;
  }

  public URI authorizationEndpoint() {
    return authorizationEndpoint;
  }

  public URI tokenEndpoint() {
    return tokenEndpoint;
  }

  public String clientId() {
    return clientId;
  }

  public URI redirectUri() {
    return redirectUri;
  }

  /** The {@code state} value the redirect must echo. */
  public String state() {
    return state;
  }

  public Optional<String> nonce() {
    return Optional.ofNullable(nonce);
  }

  String codeVerifier() {
    return codeVerifier;
  }

  public SmartScopes scopes() {
    return scopes;
  }

  public Optional<String> launch() {
    return Optional.ofNullable(launch);
  }

  public Instant createdAt() {
    return createdAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PendingAuthorization && ((PendingAuthorization) o).toJson().equals(toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }

  @Override
  public String toString() {
    return "PendingAuthorization{iss=" + iss + ", clientId=" + clientId + ", scopes=" + scopes
        + ", createdAt=" + createdAt + "}";
  }
}
