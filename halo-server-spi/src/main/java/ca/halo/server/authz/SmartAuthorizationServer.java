package ca.halo.server.authz;

import ca.halo.core.SmartCapability;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScope;
import ca.halo.core.SmartScopes;
import ca.halo.core.internal.Json;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.audit.InMemoryAuditSink;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.internal.Audits;
import ca.halo.server.internal.ExpiringMap;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.security.JwtTokenValidator;
import ca.halo.server.security.Principal;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SoFA's SMART authorization server: turns a {@code launch} id stored by {@code $set-context}
 * into an access token whose response carries that context.
 *
 * <pre>{@code
 * SmartAuthorizationServer as = SmartAuthorizationServer.builder()
 *     .issuer(URI.create("https://sofa.example.ca/auth"))
 *     .fhirBase(URI.create("https://sofa.example.ca/fhir"))
 *     .clients(registry).users(authenticator).contexts(store)
 *     .build();
 * OAuthHttpResponse r = as.token(formParams, authorizationHeader);
 * }</pre>
 *
 * <p>The engine has no servlet types: each endpoint takes the request's parameters (and the
 * {@code Authorization} header or SSO cookie where it matters) and returns an
 * {@link OAuthHttpResponse}. {@code ca.halo.server.sofa.SofaServer} mounts it on Jetty.
 *
 * <p>Rules enforced: PKCE S256 on every code (plain refused), exact redirect-URI match,
 * {@code state} required and echoed, {@code aud} equal to the FHIR base, {@code launch} naming a
 * live context (and, when the context names an {@code appID}, only that app's client), codes
 * single-use and short-lived (a replayed code revokes every token issued from it), refresh tokens
 * rotated (a replayed refresh token revokes its family), {@code private_key_jwt} assertions
 * checked (RS384/ES384 signature, iss = sub = client, aud = token endpoint, exp at most five
 * minutes ahead, jti never seen), scopes narrowed to what the client may have. Access tokens are
 * RS256 JWTs; {@link #tokenValidator()} checks them (and revocation) for the resource server.
 *
 * <p>Thread-safe. State (codes, refresh tokens, revoked ids, SSO sessions) is in bounded
 * in-memory maps.
 *
 * <p>Spec: SMART App Launch 2.1.0 sections 2.0.5-2.0.10, 5, 7; RFC 6749, 7636, 7662, 7009,
 * 7523; OpenID Connect Core 3.1; HALO CA:SoF-3 and the SoFA flow steps 7-8.
 */
public final class SmartAuthorizationServer {
  private static final Logger LOG = LoggerFactory.getLogger(SmartAuthorizationServer.class);
  private static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  private static final Set<JWSAlgorithm> ASSERTION_ALGS = Set.of(JWSAlgorithm.RS384, JWSAlgorithm.ES384);
  public static final String SSO_COOKIE = "halo_sso";

  private final URI issuer;
  private final URI fhirBase;
  private final ClientRegistry clients;
  private final UserAuthenticator users;
  private final LaunchContextStore contexts;
  private final AuditSink audit;
  private final Clock clock;
  private final RSAKey signingKey;
  private final JWKSet publicKeys;
  private final Duration accessTokenLifetime;
  private final Duration refreshTokenLifetime;
  private final Duration codeLifetime;
  private final Duration ssoLifetime;
  private final boolean requireSameUser;
  private final SecureRandom random = new SecureRandom();

  private final ExpiringMap<String, Interaction> interactions;
  private final ExpiringMap<String, CodeGrant> codes;
  private final ExpiringMap<String, RefreshGrant> refreshTokens;
  private final ExpiringMap<String, String> revokedJtis;
  private final ExpiringMap<String, Boolean> seenAssertionJtis;
  private final ExpiringMap<String, AuthenticatedUser> ssoSessions;
  private final ExpiringMap<String, List<String>> familyJtis;
  private final ExpiringMap<String, String> usedCodes;
  private final JwtTokenValidator validator;

  private SmartAuthorizationServer(Builder b) {
    this.issuer = b.issuer;
    this.fhirBase = b.fhirBase;
    this.clients = b.clients;
    this.users = b.users;
    this.contexts = b.contexts;
    this.audit = b.audit;
    this.clock = b.clock;
    this.signingKey = b.signingKey;
    this.publicKeys = new JWKSet(signingKey.toPublicJWK());
    this.accessTokenLifetime = b.accessTokenLifetime;
    this.refreshTokenLifetime = b.refreshTokenLifetime;
    this.codeLifetime = b.codeLifetime;
    this.ssoLifetime = b.ssoLifetime;
    this.requireSameUser = b.requireSameUser;
    this.interactions = new ExpiringMap<>(b.capacity, clock);
    this.codes = new ExpiringMap<>(b.capacity, clock);
    this.refreshTokens = new ExpiringMap<>(b.capacity, clock);
    this.revokedJtis = new ExpiringMap<>(b.capacity * 4, clock);
    this.seenAssertionJtis = new ExpiringMap<>(b.capacity, clock);
    this.ssoSessions = new ExpiringMap<>(b.capacity, clock);
    this.familyJtis = new ExpiringMap<>(b.capacity, clock);
    this.usedCodes = new ExpiringMap<>(b.capacity, clock);
    this.validator = JwtTokenValidator.builder(() -> publicKeys)
        .issuer(issuer).audience(fhirBase.toString())
        .revoked(jti -> revokedJtis.get(jti) != null)
        .clock(clock).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  // ------------------------------------------------------------------ endpoints and metadata

  public URI issuer() { return issuer; }
  public URI fhirBase() { return fhirBase; }
  public URI authorizationEndpoint() { return URI.create(issuer + "/authorize"); }
  public URI signInEndpoint() { return URI.create(issuer + "/sign-in"); }
  public URI tokenEndpoint() { return URI.create(issuer + "/token"); }
  public URI introspectionEndpoint() { return URI.create(issuer + "/introspect"); }
  public URI revocationEndpoint() { return URI.create(issuer + "/revoke"); }
  public URI jwksUri() { return URI.create(issuer + "/jwks"); }

  /** Validates this server's access tokens (signature, issuer, audience, expiry, revocation). */
  public AccessTokenValidator tokenValidator() {
    return validator;
  }

  /** The document served at {@code [fhir-base]/.well-known/smart-configuration}. */
  public SmartConfiguration smartConfiguration() {
    SmartConfiguration.Builder b = SmartConfiguration.builder()
        .issuer(issuer).jwksUri(jwksUri())
        .authorizationEndpoint(authorizationEndpoint()).tokenEndpoint(tokenEndpoint())
        .introspectionEndpoint(introspectionEndpoint()).revocationEndpoint(revocationEndpoint())
        .grantTypesSupported(List.of("authorization_code", "client_credentials", "refresh_token"))
        .tokenEndpointAuthMethodsSupported(List.of("client_secret_basic", "private_key_jwt"))
        .responseTypesSupported(List.of("code"))
        .scopesSupported(List.of("openid", "fhirUser", "launch", "launch/patient",
            "launch/encounter", "offline_access", "online_access", "patient/*.cruds",
            "user/*.cruds", "system/*.cruds", "patient/*.read", "user/*.read",
            "user/Context.write", "system/Context.write"))
        .codeChallengeMethodsSupported(List.of("S256"))
        .extension("token_endpoint_auth_signing_alg_values_supported", "[\"RS384\",\"ES384\"]");
    for (SmartCapability c : List.of(SmartCapability.LAUNCH_EHR, SmartCapability.AUTHORIZE_POST,
        SmartCapability.CLIENT_PUBLIC, SmartCapability.CLIENT_CONFIDENTIAL_SYMMETRIC,
        SmartCapability.CLIENT_CONFIDENTIAL_ASYMMETRIC, SmartCapability.SSO_OPENID_CONNECT,
        SmartCapability.CONTEXT_EHR_PATIENT, SmartCapability.CONTEXT_EHR_ENCOUNTER,
        SmartCapability.CONTEXT_PASSTHROUGH_BANNER, SmartCapability.CONTEXT_PASSTHROUGH_STYLE,
        SmartCapability.PERMISSION_PATIENT, SmartCapability.PERMISSION_USER,
        SmartCapability.PERMISSION_OFFLINE, SmartCapability.PERMISSION_ONLINE,
        SmartCapability.PERMISSION_V1, SmartCapability.PERMISSION_V2)) {
      b.addCapability(c);
    }
    return b.build();
  }

  public OAuthHttpResponse smartConfigurationResponse() {
    return OAuthHttpResponse.publicJson(smartConfiguration().toJson(), 3600);
  }

  /** {@code [issuer]/.well-known/openid-configuration}. */
  public OAuthHttpResponse openidConfiguration() {
    ObjectNode o = Json.object();
    o.put("issuer", issuer.toString());
    o.put("authorization_endpoint", authorizationEndpoint().toString());
    o.put("token_endpoint", tokenEndpoint().toString());
    o.put("jwks_uri", jwksUri().toString());
    o.put("introspection_endpoint", introspectionEndpoint().toString());
    o.put("revocation_endpoint", revocationEndpoint().toString());
    Json.putList(o, "response_types_supported", List.of("code"));
    Json.putList(o, "subject_types_supported", List.of("public"));
    Json.putList(o, "id_token_signing_alg_values_supported", List.of("RS256"));
    Json.putList(o, "code_challenge_methods_supported", List.of("S256"));
    Json.putList(o, "grant_types_supported",
        List.of("authorization_code", "client_credentials", "refresh_token"));
    Json.putList(o, "token_endpoint_auth_methods_supported",
        List.of("client_secret_basic", "private_key_jwt"));
    Json.putList(o, "claims_supported", List.of("sub", "fhirUser", "name", "nonce"));
    return OAuthHttpResponse.publicJson(Json.write(o), 3600);
  }

  public OAuthHttpResponse jwks() {
    return OAuthHttpResponse.publicJson(publicKeys.toString(), 300);
  }

  // ------------------------------------------------------------------ /authorize

  private record Interaction(String clientId, String clientName, URI redirectUri, String state,
      String codeChallenge, SmartScopes scopes, String nonce, String sessionId) {}

  private record CodeGrant(String clientId, URI redirectUri, String codeChallenge,
      SmartScopes scopes, AuthenticatedUser user, String sessionId, String nonce,
      String family) {}

  private record RefreshGrant(String clientId, SmartScopes scopes, AuthenticatedUser user,
      String sessionId, String family, boolean active) {}

  /**
   * The authorization endpoint (GET query or POST form). Errors that make the redirect URI
   * untrustworthy (unknown client, unregistered redirect URI) are shown as a page; all others
   * are sent to the app as {@code error} redirects, per RFC 6749 section 4.1.2.1.
   */
  public OAuthHttpResponse authorize(Map<String, String> p, String ssoCookie) {
    String clientId = p.get("client_id");
    Optional<RegisteredClient> client = clients.find(clientId);
    if (client.isEmpty()) {
      return errorPage("Unknown client", "No app is registered with this client_id.");
    }
    String redirect = p.get("redirect_uri");
    URI redirectUri;
    try {
      redirectUri = redirect == null ? null : new URI(redirect);
    } catch (Exception e) {
      redirectUri = null;
    }
    if (redirectUri == null || !client.get().redirectUris().contains(redirectUri)) {
      return errorPage("Invalid redirect URI",
          "redirect_uri is missing or does not exactly match a URI registered for this app.");
    }
    String state = p.get("state");
    if (!"code".equals(p.get("response_type"))) {
      return redirectError(redirectUri, state, "unsupported_response_type",
          "response_type must be code");
    }
    if (state == null || state.isBlank()) {
      return redirectError(redirectUri, null, "invalid_request", "state is required");
    }
    String challenge = p.get("code_challenge");
    if (challenge == null || !"S256".equals(p.get("code_challenge_method"))) {
      return redirectError(redirectUri, state, "invalid_request",
          "PKCE is required: send code_challenge with code_challenge_method=S256 (plain is"
              + " refused)");
    }
    if (!challenge.matches("[A-Za-z0-9_-]{43}")) {
      return redirectError(redirectUri, state, "invalid_request",
          "code_challenge must be the base64url SHA-256 of the verifier");
    }
    String aud = p.get("aud");
    if (aud == null || !stripSlash(aud).equals(stripSlash(fhirBase.toString()))) {
      return redirectError(redirectUri, state, "invalid_request",
          "aud must be this server's FHIR base URL " + fhirBase);
    }
    SmartScopes requested;
    try {
      requested = SmartScopes.parse(p.get("scope"));
    } catch (IllegalArgumentException e) {
      return redirectError(redirectUri, state, "invalid_scope", e.getMessage());
    }
    SmartScopes granted = narrow(requested, client.get().allowedScopes());
    if (granted.isEmpty()) {
      return redirectError(redirectUri, state, "invalid_scope",
          "none of the requested scopes is allowed for this app");
    }
    String sessionId = null;
    String launch = p.get("launch");
    if (launch != null || granted.contains(SmartScope.LAUNCH)) {
      if (launch == null) {
        return redirectError(redirectUri, state, "invalid_request",
            "scope launch needs the launch parameter of an EHR launch");
      }
      Optional<StoredContext> ctx = contexts.find(launch, clock.instant());
      if (ctx.isEmpty()) {
        return redirectError(redirectUri, state, "invalid_request",
            "launch is unknown or has expired; launch the app again from the EMR");
      }
      if (ctx.get().appId().isPresent()
          && !ctx.get().appId().equals(client.get().appId())) {
        return redirectError(redirectUri, state, "access_denied",
            "this launch was set up for another app");
      }
      sessionId = ctx.get().sessionId();
    }
    String interactionId = randomId();
    Interaction it = new Interaction(clientId, client.get().name(), redirectUri, state, challenge,
        granted, p.get("nonce"), sessionId);
    AuthenticatedUser sso = ssoCookie == null ? null : ssoSessions.get(ssoCookie);
    if (sso != null) {
      return finish(it, sso);
    }
    if (!interactions.put(interactionId, it, clock.instant().plus(Duration.ofMinutes(10)))) {
      return OAuthHttpResponse.html(503, "<p>Too many sign-ins in progress; try again.</p>");
    }
    return signInStep(interactionId, it, users.start(signInRequest(interactionId, it)));
  }

  /** The sign-in callback: the login form's POST or an upstream IdP's redirect. */
  public OAuthHttpResponse signIn(Map<String, String> p) {
    String interactionId = p.get("interaction");
    if (interactionId == null) {
      interactionId = p.get("state"); // upstream OIDC providers echo our interaction as state
    }
    Interaction it = interactionId == null ? null : interactions.get(interactionId);
    if (it == null) {
      return errorPage("Sign-in expired", "This sign-in is unknown or has expired. Launch the"
          + " app again.");
    }
    return signInStep(interactionId, it, users.resume(signInRequest(interactionId, it), p));
  }

  private SignInRequest signInRequest(String interactionId, Interaction it) {
    return new SignInRequest(interactionId, signInEndpoint(), it.clientId(), it.clientName());
  }

  private OAuthHttpResponse signInStep(String interactionId, Interaction it, SignInStep step) {
    switch (step.kind()) {
      case PAGE:
        return OAuthHttpResponse.html(200, step.html().orElseThrow());
      case REDIRECT:
        return OAuthHttpResponse.redirect(step.redirectUri().orElseThrow());
      case FAILED:
        interactions.remove(interactionId);
        return redirectError(it.redirectUri(), it.state(), "access_denied",
            step.error().orElse("sign-in failed"));
      default:
        interactions.remove(interactionId);
        AuthenticatedUser user = step.user().orElseThrow();
        String cookie = randomId();
        ssoSessions.put(cookie, user, clock.instant().plus(ssoLifetime));
        return finish(it, user).withHeader("Set-Cookie", SSO_COOKIE + "=" + cookie
            + "; Path=" + URI.create(issuer.toString()).getPath() + "; HttpOnly; SameSite=Lax"
            + ("https".equals(issuer.getScheme()) ? "; Secure" : ""));
    }
  }

  private OAuthHttpResponse finish(Interaction it, AuthenticatedUser user) {
    if (it.sessionId() != null) {
      Optional<StoredContext> ctx = contexts.findBySession(it.sessionId(), clock.instant());
      if (ctx.isEmpty()) {
        return redirectError(it.redirectUri(), it.state(), "invalid_request",
            "the launch context was cleared or expired during sign-in");
      }
      if (requireSameUser && ctx.get().ownerSubject().isPresent()
          && !ctx.get().ownerSubject().get().equals(user.subject())) {
        return redirectError(it.redirectUri(), it.state(), "access_denied",
            "the signed-in user is not the user who set up this launch");
      }
    }
    String code = randomId();
    if (!codes.put(code, new CodeGrant(it.clientId(), it.redirectUri(), it.codeChallenge(), it.scopes(),
        user, it.sessionId(), it.nonce(), randomId()), clock.instant().plus(codeLifetime))) {
      return redirectError(it.redirectUri(), it.state(), "temporarily_unavailable",
          "too many authorizations in progress; try again shortly");
    }
    LOG.debug("authorization code issued to {}", it.clientId());
    return OAuthHttpResponse.redirect(URI.create(it.redirectUri() + sep(it.redirectUri())
        + "code=" + enc(code) + "&state=" + enc(it.state())));
  }

  // ------------------------------------------------------------------ /token

  /** The token endpoint (form parameters, and the request's Authorization header if any). */
  public OAuthHttpResponse token(Map<String, String> p, String authorization) {
    ClientCheck cc = authenticateClient(p, authorization);
    if (cc.error != null) {
      return cc.error;
    }
    RegisteredClient client = cc.client;
    String grantType = p.get("grant_type");
    if (grantType == null) {
      return OAuthHttpResponse.error(400, "invalid_request", "grant_type is required");
    }
    switch (grantType) {
      case "authorization_code":
        return authorizationCodeGrant(client, p);
      case "refresh_token":
        return refreshGrant(client, p);
      case "client_credentials":
        return clientCredentialsGrant(client, p);
      default:
        return OAuthHttpResponse.error(400, "unsupported_grant_type",
            grantType + " is not supported");
    }
  }

  private OAuthHttpResponse authorizationCodeGrant(RegisteredClient client, Map<String, String> p) {
    String code = p.get("code");
    if (code == null) {
      return OAuthHttpResponse.error(400, "invalid_request", "code is required");
    }
    if (usedCodes.get(code) != null) {
      return replayed(code);
    }
    CodeGrant g = codes.remove(code);
    if (g == null) {
      return OAuthHttpResponse.error(400, "invalid_grant", "the code is unknown or expired");
    }
    // single use: remember it, so a replay revokes what its first use issued
    usedCodes.put(code, g.family(), clock.instant().plus(refreshTokenLifetime));
    if (!g.clientId().equals(client.clientId())) {
      return OAuthHttpResponse.error(400, "invalid_grant", "the code was issued to another client");
    }
    if (!g.redirectUri().toString().equals(p.get("redirect_uri"))) {
      return OAuthHttpResponse.error(400, "invalid_grant",
          "redirect_uri does not match the authorization request");
    }
    String verifier = p.get("code_verifier");
    if (verifier == null || !verifier.matches("[A-Za-z0-9._~-]{43,128}")) {
      return OAuthHttpResponse.error(400, "invalid_grant", "a valid code_verifier is required");
    }
    String computed = CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier(verifier))
        .getValue();
    if (!MessageDigest.isEqual(computed.getBytes(StandardCharsets.US_ASCII),
        g.codeChallenge().getBytes(StandardCharsets.US_ASCII))) {
      return OAuthHttpResponse.error(400, "invalid_grant", "code_verifier does not match");
    }
    return issue(client, g.scopes(), g.user(), g.sessionId(), g.nonce(), g.family(), true);
  }

  private OAuthHttpResponse refreshGrant(RegisteredClient client, Map<String, String> p) {
    String rt = p.get("refresh_token");
    RefreshGrant g = rt == null ? null : refreshTokens.get(rt);
    if (g == null || !g.clientId().equals(client.clientId())) {
      return OAuthHttpResponse.error(400, "invalid_grant", "the refresh token is unknown or expired");
    }
    if (!g.active()) {
      revokeFamily(g.family());
      LOG.warn("a rotated refresh token was replayed; revoked its family of tokens");
      return OAuthHttpResponse.error(400, "invalid_grant",
          "the refresh token was already used; every token of this grant is now revoked");
    }
    refreshTokens.compute(rt, (k, old) -> old == null ? null
        : new RefreshGrant(old.clientId(), old.scopes(), old.user(), old.sessionId(), old.family(), false));
    SmartScopes scopes = g.scopes();
    if (p.containsKey("scope")) {
      SmartScopes asked;
      try {
        asked = SmartScopes.parse(p.get("scope"));
      } catch (IllegalArgumentException e) {
        return OAuthHttpResponse.error(400, "invalid_scope", e.getMessage());
      }
      scopes = asked.retainAll(g.scopes());
    }
    if (g.sessionId() != null && contexts.findBySession(g.sessionId(), clock.instant()).isEmpty()) {
      revokeFamily(g.family());
      return OAuthHttpResponse.error(400, "invalid_grant", "the launch context has ended");
    }
    return issue(client, scopes, g.user(), g.sessionId(), null, g.family(), false);
  }

  private OAuthHttpResponse clientCredentialsGrant(RegisteredClient client, Map<String, String> p) {
    if (client.type() == RegisteredClient.Type.PUBLIC) {
      return OAuthHttpResponse.error(400, "unauthorized_client",
          "client_credentials needs a confidential client");
    }
    SmartScopes requested;
    try {
      requested = SmartScopes.parse(p.get("scope"));
    } catch (IllegalArgumentException e) {
      return OAuthHttpResponse.error(400, "invalid_scope", e.getMessage());
    }
    SmartScopes granted = narrow(requested, client.allowedScopes());
    List<SmartScope> systemOnly = new ArrayList<>();
    for (SmartScope s : granted.asList()) {
      if (s.level().filter(l -> l != SmartScope.Level.PATIENT).isPresent()) {
        systemOnly.add(s);
      }
    }
    if (systemOnly.isEmpty()) {
      return OAuthHttpResponse.error(400, "invalid_scope",
          "request system/ (or user/) resource scopes this client is allowed");
    }
    return issue(client, SmartScopes.of(systemOnly), null, null, null, randomId(), false);
  }

  private OAuthHttpResponse issue(RegisteredClient client, SmartScopes scopes,
      AuthenticatedUser user, String sessionId, String nonce, String family, boolean withIdToken) {
    Instant now = clock.instant();
    StoredContext ctx = null;
    if (sessionId != null) {
      ctx = contexts.findBySession(sessionId, now).orElse(null);
      if (ctx == null) {
        return OAuthHttpResponse.error(400, "invalid_grant", "the launch context has ended");
      }
    }
    String jti = UUID.randomUUID().toString();
    JWTClaimsSet.Builder at = new JWTClaimsSet.Builder()
        .issuer(issuer.toString())
        .subject(user != null ? user.subject() : client.clientId())
        .audience(fhirBase.toString())
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(accessTokenLifetime)))
        .jwtID(jti)
        .claim("client_id", client.clientId())
        .claim("scope", scopes.format());
    if (ctx != null) {
      at.claim("halo_session", sessionId);
      ctx.context().patient().ifPresent(v -> at.claim("patient", v));
    }
    if (user != null) {
      user.fhirUser().ifPresent(v -> at.claim("fhirUser", v));
    }
    ObjectNode body = Json.object();
    body.put("access_token", sign(at.build(), "at+jwt"));
    body.put("token_type", "Bearer");
    body.put("expires_in", accessTokenLifetime.getSeconds());
    body.put("scope", scopes.format());
    boolean wantsRefresh = scopes.contains(SmartScope.OFFLINE_ACCESS)
        || scopes.contains(SmartScope.ONLINE_ACCESS);
    if (wantsRefresh && user != null) {
      String rt = randomId();
      if (refreshTokens.put(rt, new RefreshGrant(client.clientId(), scopes, user, sessionId, family, true),
          now.plus(refreshTokenLifetime))) {
        body.put("refresh_token", rt); // at capacity the client simply gets no refresh token
      }
    }
    if (withIdToken && user != null && scopes.contains(SmartScope.OPENID)) {
      JWTClaimsSet.Builder id = new JWTClaimsSet.Builder()
          .issuer(issuer.toString()).subject(user.subject()).audience(client.clientId())
          .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(10))))
          .claim("name", user.displayName());
      if (nonce != null) {
        id.claim("nonce", nonce);
      }
      if (scopes.contains(SmartScope.FHIR_USER)) {
        user.fhirUser().ifPresent(v -> id.claim("fhirUser", fhirUrl(v)));
      }
      body.put("id_token", sign(id.build(), "JWT"));
    }
    if (ctx != null) {
      body.setAll((ObjectNode) Json.fromJava(ctx.context().toBuilder().fhirUser(null).build()
          .toTokenResponseParameters()));
    }
    List<String> jtis = new ArrayList<>();
    List<String> old = familyJtis.get(family);
    if (old != null) {
      jtis.addAll(old);
    }
    jtis.add(jti + "@" + now.plus(accessTokenLifetime).getEpochSecond());
    familyJtis.put(family, jtis, now.plus(refreshTokenLifetime));
    Audits.record(audit, "token-issue", AuditEventAction.E, true, client.clientId(),
        user == null ? null : user.subject(), null, now);
    return OAuthHttpResponse.json(200, Json.write(body));
  }

  private String fhirUrl(String ref) {
    return ref.startsWith("http") ? ref : fhirBase + "/" + ref;
  }

  /** A code replay or a refresh-token replay revokes everything issued under the grant. */
  private void revokeFamily(String family) {
    List<String> jtis = familyJtis.remove(family);
    if (jtis != null) {
      for (String j : jtis) {
        int at = j.lastIndexOf('@');
        revokedJtis.put(j.substring(0, at), "revoked",
            Instant.ofEpochSecond(Long.parseLong(j.substring(at + 1))));
      }
    }
    refreshTokens.removeIf(g -> g.family().equals(family));
  }

  /** Ends every token tied to a launch session (called when its context is cleared). */
  public void revokeSession(String sessionId) {
    refreshTokens.removeIf(g -> sessionId.equals(g.sessionId()));
  }

  // ------------------------------------------------------------------ code replay detection

  /**
   * Called when an already-used code comes back: RFC 6749 section 4.1.2 says the server SHOULD
   * revoke the tokens issued from it.
   */
  private OAuthHttpResponse replayed(String code) {
    String family = usedCodes.get(code);
    if (family != null) {
      revokeFamily(family);
      LOG.warn("an authorization code was replayed; revoked the tokens issued from it");
    }
    return OAuthHttpResponse.error(400, "invalid_grant", "the code was already used");
  }

  // ------------------------------------------------------------------ introspection, revocation

  /** RFC 7662. The caller authenticates as a confidential client. */
  public OAuthHttpResponse introspect(Map<String, String> p, String authorization) {
    ClientCheck cc = authenticateClient(p, authorization);
    if (cc.error != null) {
      return cc.error;
    }
    if (cc.client.type() == RegisteredClient.Type.PUBLIC) {
      return OAuthHttpResponse.error(401, "invalid_client", "introspection needs a confidential client");
    }
    String token = p.get("token");
    ObjectNode o = Json.object();
    Optional<Principal> principal = token == null ? Optional.empty() : validator.validate(token);
    if (principal.isPresent() && principal.get().sessionId().isPresent()
        && contexts.findBySession(principal.get().sessionId().get(), clock.instant()).isEmpty()) {
      principal = Optional.empty(); // the launch ended: its tokens are no longer active
    }
    if (principal.isEmpty()) {
      o.put("active", false);
      return OAuthHttpResponse.json(200, Json.write(o));
    }
    Principal pr = principal.get();
    o.put("active", true);
    o.put("scope", pr.scopes().format());
    o.put("client_id", pr.clientId());
    pr.subject().ifPresent(v -> o.put("sub", v));
    o.put("aud", fhirBase.toString());
    o.put("iss", issuer.toString());
    o.put("token_type", "Bearer");
    pr.expiresAt().ifPresent(v -> o.put("exp", v.getEpochSecond()));
    pr.patient().ifPresent(v -> o.put("patient", v));
    pr.fhirUser().ifPresent(v -> o.put("fhirUser", v));
    pr.sessionId().ifPresent(v -> o.put("halo_session", v));
    return OAuthHttpResponse.json(200, Json.write(o));
  }

  /** RFC 7009. Answers 200 whether or not the token was known. */
  public OAuthHttpResponse revoke(Map<String, String> p, String authorization) {
    ClientCheck cc = authenticateClient(p, authorization);
    if (cc.error != null) {
      return cc.error;
    }
    String token = p.get("token");
    if (token == null) {
      return OAuthHttpResponse.error(400, "invalid_request", "token is required");
    }
    RefreshGrant g = refreshTokens.get(token);
    if (g != null && g.clientId().equals(cc.client.clientId())) {
      revokeFamily(g.family());
    } else {
      try {
        JWTClaimsSet c = SignedJWT.parse(token).getJWTClaimsSet();
        if (cc.client.clientId().equals(c.getClaim("client_id")) && c.getJWTID() != null
            && c.getExpirationTime() != null) {
          revokedJtis.put(c.getJWTID(), "revoked", c.getExpirationTime().toInstant());
        }
      } catch (ParseException e) {
        // not one of ours: nothing to revoke
      }
    }
    return OAuthHttpResponse.json(200, "{}");
  }

  // ------------------------------------------------------------------ client authentication

  private static final class ClientCheck {
    RegisteredClient client;
    OAuthHttpResponse error;
  }

  private ClientCheck authenticateClient(Map<String, String> p, String authorization) {
    ClientCheck cc = new ClientCheck();
    try {
      if (authorization != null && authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
        String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()),
            StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        if (colon < 0) {
          throw new IllegalArgumentException("malformed Basic credentials");
        }
        String id = URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8);
        String secret = URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8);
        RegisteredClient c = clients.find(id).orElse(null);
        if (c == null || c.type() != RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC
            || !MessageDigest.isEqual(c.secret().orElse("").getBytes(StandardCharsets.UTF_8),
                secret.getBytes(StandardCharsets.UTF_8))) {
          cc.error = OAuthHttpResponse.error(401, "invalid_client", "client authentication failed");
          return cc;
        }
        cc.client = c;
        return cc;
      }
      if (p.containsKey("client_assertion")) {
        return checkAssertion(p, cc);
      }
      if (p.containsKey("client_secret")) {
        cc.error = OAuthHttpResponse.error(401, "invalid_client",
            "client_secret_post is not supported; use client_secret_basic");
        return cc;
      }
      RegisteredClient c = clients.find(p.get("client_id")).orElse(null);
      if (c == null) {
        cc.error = OAuthHttpResponse.error(401, "invalid_client", "unknown client");
      } else if (c.type() != RegisteredClient.Type.PUBLIC) {
        cc.error = OAuthHttpResponse.error(401, "invalid_client",
            "this client must authenticate (client_secret_basic or private_key_jwt)");
      } else {
        cc.client = c;
      }
      return cc;
    } catch (IllegalArgumentException e) {
      cc.error = OAuthHttpResponse.error(401, "invalid_client", "client authentication failed");
      return cc;
    }
  }

  private ClientCheck checkAssertion(Map<String, String> p, ClientCheck cc) {
    if (!JWT_BEARER.equals(p.get("client_assertion_type"))) {
      cc.error = OAuthHttpResponse.error(401, "invalid_client",
          "client_assertion_type must be " + JWT_BEARER);
      return cc;
    }
    try {
      SignedJWT jwt = SignedJWT.parse(p.get("client_assertion"));
      JWTClaimsSet c = jwt.getJWTClaimsSet();
      String clientId = c.getIssuer();
      RegisteredClient client = clients.find(clientId).orElse(null);
      if (client == null || client.type() != RegisteredClient.Type.CONFIDENTIAL_ASYMMETRIC) {
        return fail(cc, "unknown client or not a private_key_jwt client");
      }
      if (p.get("client_id") != null && !p.get("client_id").equals(clientId)) {
        return fail(cc, "client_id does not match the assertion");
      }
      if (!ASSERTION_ALGS.contains(jwt.getHeader().getAlgorithm())) {
        return fail(cc, "client assertions must be signed with RS384 or ES384");
      }
      if (!clientId.equals(c.getSubject())) {
        return fail(cc, "assertion iss and sub must both be the client id");
      }
      if (c.getAudience() == null || !(c.getAudience().contains(tokenEndpoint().toString())
          || c.getAudience().contains(issuer.toString()))) {
        return fail(cc, "assertion aud must be the token endpoint");
      }
      Instant now = clock.instant();
      if (c.getExpirationTime() == null || !now.isBefore(c.getExpirationTime().toInstant())) {
        return fail(cc, "assertion expired");
      }
      if (c.getExpirationTime().toInstant().isAfter(now.plus(Duration.ofMinutes(5)).plusSeconds(60))) {
        return fail(cc, "assertion exp is more than five minutes ahead");
      }
      if (c.getJWTID() == null) {
        return fail(cc, "assertion needs a jti");
      }
      JWKSet keys = JWKSet.parse(client.jwksJson().orElseThrow());
      List<JWK> candidates = new JWKSelector(new JWKMatcher.Builder()
          .keyID(jwt.getHeader().getKeyID()).build()).select(keys);
      boolean verified = false;
      for (JWK k : candidates) {
        if (k.getKeyUse() != null && k.getKeyUse() != KeyUse.SIGNATURE) {
          continue;
        }
        java.security.Key pub = k instanceof RSAKey ? ((RSAKey) k).toPublicKey()
            : k instanceof com.nimbusds.jose.jwk.ECKey ? ((com.nimbusds.jose.jwk.ECKey) k).toPublicKey()
            : null;
        if (pub != null && jwt.verify(new DefaultJWSVerifierFactory()
            .createJWSVerifier(jwt.getHeader(), pub))) {
          verified = true;
          break;
        }
      }
      if (!verified) {
        return fail(cc, "assertion signature does not verify against the client's keys");
      }
      String jtiKey = clientId + "|" + c.getJWTID();
      if (seenAssertionJtis.get(jtiKey) != null) {
        return fail(cc, "assertion jti was already used");
      }
      seenAssertionJtis.put(jtiKey, Boolean.TRUE, c.getExpirationTime().toInstant().plusSeconds(60));
      cc.client = client;
      return cc;
    } catch (ParseException | JOSEException | RuntimeException e) {
      return fail(cc, "malformed client assertion");
    }
  }

  private static ClientCheck fail(ClientCheck cc, String why) {
    cc.error = OAuthHttpResponse.error(401, "invalid_client", why);
    return cc;
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The requested scopes an app may have: a non-resource scope if the client may have it; a
   * resource scope if an allowed scope of the same level covers its type and permissions.
   */
  static SmartScopes narrow(SmartScopes requested, SmartScopes allowed) {
    List<SmartScope> out = new ArrayList<>();
    for (SmartScope r : requested.asList()) {
      if (!r.isResourceScope()) {
        if (allowed.contains(r)) {
          out.add(r);
        }
        continue;
      }
      for (SmartScope a : allowed.asList()) {
        if (a.isResourceScope() && a.level().equals(r.level()) && a.parameters().isEmpty()
            && ("*".equals(a.resourceType().orElseThrow())
                || a.resourceType().equals(r.resourceType()))
            && a.interactions().containsAll(r.interactions())) {
          out.add(r);
          break;
        }
      }
    }
    return SmartScopes.of(out);
  }

  private String sign(JWTClaimsSet claims, String typ) {
    try {
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256)
          .keyID(signingKey.getKeyID()).type(new JOSEObjectType(typ)).build(), claims);
      jwt.sign(new RSASSASigner(signingKey));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token", e);
    }
  }

  private OAuthHttpResponse redirectError(URI redirectUri, String state, String error, String desc) {
    StringBuilder b = new StringBuilder(redirectUri.toString()).append(sep(redirectUri))
        .append("error=").append(enc(error));
    if (desc != null) {
      b.append("&error_description=").append(enc(desc));
    }
    if (state != null) {
      b.append("&state=").append(enc(state));
    }
    return OAuthHttpResponse.redirect(URI.create(b.toString()));
  }

  private static OAuthHttpResponse errorPage(String title, String text) {
    return OAuthHttpResponse.html(400, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<title>" + title + "</title></head><body><h1 id=\"error-title\">" + title + "</h1><p>"
        + text + "</p></body></html>");
  }

  private static String sep(URI u) {
    return u.getRawQuery() == null ? "?" : "&";
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private String randomId() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  @Override
  public String toString() {
    return "SmartAuthorizationServer{issuer=" + issuer + "}";
  }

  /** Builds a {@link SmartAuthorizationServer}; {@link #build()} checks it is complete. */
  public static final class Builder {
    private URI issuer;
    private URI fhirBase;
    private ClientRegistry clients;
    private UserAuthenticator users;
    private LaunchContextStore contexts;
    private AuditSink audit = new InMemoryAuditSink();
    private Clock clock = Clock.systemUTC();
    private RSAKey signingKey;
    private Duration accessTokenLifetime = Duration.ofHours(1);
    private Duration refreshTokenLifetime = Duration.ofHours(8);
    private Duration codeLifetime = Duration.ofSeconds(60);
    private Duration ssoLifetime = Duration.ofHours(8);
    private boolean requireSameUser = true;
    private int capacity = 100_000;

    private Builder() {}

    /** The issuer URL; endpoints sit below it ({@code /authorize}, {@code /token}, ...). */
    public Builder issuer(URI v) { this.issuer = URI.create(stripSlash(v.toString())); return this; }
    /** The FHIR base the tokens are for ({@code aud}). */
    public Builder fhirBase(URI v) { this.fhirBase = URI.create(stripSlash(v.toString())); return this; }
    public Builder clients(ClientRegistry v) { this.clients = Objects.requireNonNull(v); return this; }
    public Builder users(UserAuthenticator v) { this.users = Objects.requireNonNull(v); return this; }
    public Builder contexts(LaunchContextStore v) { this.contexts = Objects.requireNonNull(v); return this; }
    public Builder audit(AuditSink v) { this.audit = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** The RSA signing key as a private JWK (JSON); by default a fresh 2048-bit key. */
    public Builder signingKeyJwk(String privateJwkJson) {
      try {
        this.signingKey = RSAKey.parse(privateJwkJson);
      } catch (ParseException e) {
        throw new IllegalArgumentException("not an RSA private JWK", e);
      }
      return this;
    }
    public Builder accessTokenLifetime(Duration v) { this.accessTokenLifetime = Objects.requireNonNull(v); return this; }
    public Builder refreshTokenLifetime(Duration v) { this.refreshTokenLifetime = Objects.requireNonNull(v); return this; }
    /** How long an authorization code lives. Default 60 s. */
    public Builder codeLifetime(Duration v) { this.codeLifetime = Objects.requireNonNull(v); return this; }
    public Builder ssoLifetime(Duration v) { this.ssoLifetime = Objects.requireNonNull(v); return this; }
    /**
     * Whether the user signing in to the app must be the user who set the context. Default
     * true (HALO's single-sign-on model: the same clinician).
     */
    public Builder requireSameUser(boolean v) { this.requireSameUser = v; return this; }
    /** Bound on each in-memory table (codes, refresh tokens, ...). Default 100,000. */
    public Builder capacity(int v) { this.capacity = v; return this; }

    public SmartAuthorizationServer build() {
      if (issuer == null || fhirBase == null || clients == null || users == null || contexts == null) {
        throw new IllegalStateException("issuer, fhirBase, clients, users and contexts are required");
      }
      if (signingKey == null) {
        try {
          signingKey = new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString())
              .keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
        } catch (JOSEException e) {
          throw new IllegalStateException("cannot generate a signing key", e);
        }
      }
      if (!signingKey.isPrivate()) {
        throw new IllegalStateException("the signing JWK must hold the private key");
      }
      return new SmartAuthorizationServer(this);
    }
  }
}
