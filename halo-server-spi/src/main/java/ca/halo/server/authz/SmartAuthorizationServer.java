package ca.halo.server.authz;

import ca.halo.core.SmartCapability;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScope;
import ca.halo.core.SmartScopes;
import ca.halo.core.internal.CoreJson;
import ca.halo.core.internal.Json;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.audit.InMemoryAuditSink;
import ca.halo.server.authz.AuthorizationStateStore.Admission;
import ca.halo.server.authz.AuthorizationStateStore.CodeRedemption;
import ca.halo.server.authz.AuthorizationStateStore.RefreshRotation;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.internal.Audits;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.security.JwtTokenValidator;
import ca.halo.server.security.Principal;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
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
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 * {@code Authorization} header, or a {@link BrowserRequest} with cookies, {@code Origin} and peer
 * address for the browser endpoints) and returns an {@link OAuthHttpResponse}.
 * {@code ca.halo.server.sofa.SofaServer} mounts it on Jetty.
 *
 * <p>Rules enforced: PKCE S256 on every code (plain refused), exact redirect-URI match,
 * {@code state} required and echoed, {@code aud} equal to the FHIR base, {@code launch} naming a
 * live context (and, when the context names an {@code appID}, only that app's client), codes
 * single-use and short-lived (a replayed code revokes every token issued from it, even tokens a
 * concurrent winner is still issuing), refresh tokens rotated atomically (exactly one of
 * concurrent uses wins; a replayed one revokes its grant), {@code private_key_jwt} assertions
 * checked by {@link ClientAuthenticator}, scopes narrowed to what the client may have (a
 * {@code Context} scope only when allowed exactly, never through a wildcard). Sign-in: the form
 * is bound to the browser that opened {@code /authorize} (an HttpOnly, SameSite=Lax cookie), its
 * credentials are accepted by POST only and not from a foreign {@code Origin}, attempts are
 * limited per sign-in and per account (without telling which accounts exist), and each address
 * may leave only so many sign-ins pending. Revocation (RFC 7009) ends only tokens this server
 * signed for the calling client. Access tokens are RS256 JWTs; {@link #tokenValidator()} checks
 * them (and revocation) for the resource server.
 *
 * <p>Thread-safe. All state is in an {@link AuthorizationStateStore} (by default
 * {@link InMemoryAuthorizationStateStore}), bounded and failing closed: when it cannot record
 * something, the request is refused ({@code temporarily_unavailable}), never granted unrecorded.
 *
 * <p>Spec: SMART App Launch 2.1.0 sections 2.0.5-2.0.10, 5, 7; RFC 6749 (10.4, 10.5, 10.12),
 * 7636, 7662, 7009, 7523; RFC 9700 section 4.14; OpenID Connect Core 3.1; HALO CA:SoF-3 and the
 * SoFA flow steps 7-8.
 */
public final class SmartAuthorizationServer {
  private static final Logger LOG = LoggerFactory.getLogger(SmartAuthorizationServer.class);
  /** The single-sign-on cookie. */
  public static final String SSO_COOKIE = "halo_sso";
  /** The cookie that binds a sign-in to the browser that started it. */
  public static final String BROWSER_COOKIE = "halo_browser";
  private static final int MAX_STATE_LENGTH = 2048;

  private final URI issuer;
  private final URI fhirBase;
  private final String issuerOrigin;
  private final String cookiePath;
  private final boolean secureCookies;
  private final ClientRegistry clients;
  private final UserAuthenticator users;
  private final LaunchContextStore contexts;
  private final AuditSink audit;
  private final Clock clock;
  private final KeyRing keys;
  private final Duration accessTokenLifetime;
  private final Duration refreshTokenLifetime;
  private final Duration codeLifetime;
  private final Duration ssoLifetime;
  private final Duration signInTimeout;
  private final int maxSignInAttempts;
  private final int maxFailedSignInsPerAccount;
  private final Duration accountLockout;
  private final boolean requireSameUser;
  private final SecureRandom random = new SecureRandom();
  private final AuthorizationStateStore store;
  private final ClientAuthenticator clientAuth;
  private final JwtTokenValidator validator;

  private SmartAuthorizationServer(Builder b, SigningKeyStore keyStore, Duration keyRotation) {
    this.issuer = b.issuer;
    this.fhirBase = b.fhirBase;
    this.issuerOrigin = origin(issuer);
    this.cookiePath = issuer.getPath() == null || issuer.getPath().isEmpty() ? "/" : issuer.getPath();
    this.secureCookies = "https".equalsIgnoreCase(issuer.getScheme());
    this.clients = b.clients;
    this.users = b.users;
    this.contexts = b.contexts;
    this.audit = b.audit;
    this.clock = b.clock;
    Duration longestToken = b.accessTokenLifetime.compareTo(Duration.ofMinutes(10)) > 0
        ? b.accessTokenLifetime : Duration.ofMinutes(10);
    this.keys = new KeyRing(keyStore, clock, keyRotation, b.keyPublishAhead,
        longestToken.plus(Duration.ofMinutes(5)), b.keyRefresh);
    this.accessTokenLifetime = b.accessTokenLifetime;
    this.refreshTokenLifetime = b.refreshTokenLifetime;
    this.codeLifetime = b.codeLifetime;
    this.ssoLifetime = b.ssoLifetime;
    this.signInTimeout = b.signInTimeout;
    this.maxSignInAttempts = b.maxSignInAttempts;
    this.maxFailedSignInsPerAccount = b.maxFailedSignInsPerAccount;
    this.accountLockout = b.accountLockout;
    this.requireSameUser = b.requireSameUser;
    this.store = b.store != null ? b.store : InMemoryAuthorizationStateStore.builder().clock(clock)
        .capacity(b.capacity).maxPendingSignInsPerAddress(b.maxPendingSignInsPerAddress).build();
    this.clientAuth = new ClientAuthenticator(clients, store, clock, tokenEndpoint(), issuer);
    this.validator = JwtTokenValidator.builder(keys::validationKeys)
        .keysOnUnknownKid(keys::validationKeysFresh).acceptOwnHmac(true)
        .issuer(issuer).audience(fhirBase.toString())
        .revoked(this::revoked)
        .clock(clock).build();
  }

  /**
   * Whether a token this server issued has been revoked, by its own {@code jti} or because the
   * grant it belongs to has ended (a code replay, a refresh replay, a revocation, an ended launch).
   */
  public boolean isRevoked(String jti) {
    return revoked(jti);
  }

  /**
   * Whether the token {@code jti} belongs to an authorization grant of this server that is still
   * active (a sign-in's code, with its refresh tokens): what a long-lived use of the token, such as
   * a subscription, stands on once the short-lived access token itself has expired.
   */
  public boolean grantActive(String jti) {
    int dot = jti.indexOf('.');
    return dot > 0 && store.tokenLive(jti, jti.substring(0, dot));
  }

  /** Revoked: by its own {@code jti}, or because the grant it belongs to has ended. */
  private boolean revoked(String jti) {
    int dot = jti.indexOf('.');
    return !store.tokenLive(jti, dot > 0 ? jti.substring(0, dot) : null);
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
    return OAuthHttpResponse.publicJson(keys.publicKeys().toString(), 300);
  }

  /**
   * Rotates the signing key when due and deletes keys no token can still need; the SoFA calls it
   * on a schedule on every node (the store makes one rotation of many).
   */
  public void maintainKeys() {
    keys.maintain();
  }

  // ------------------------------------------------------------------ /authorize

  /**
   * The authorization endpoint (GET query or POST form). Errors that make the redirect URI
   * untrustworthy (unknown client, unregistered redirect URI) are shown as a page; all others
   * are sent to the app as {@code error} redirects, per RFC 6749 section 4.1.2.1. A browser with
   * a live SSO session gets its code at once; any other gets the sign-in, bound to it by the
   * {@value #BROWSER_COOKIE} cookie.
   */
  public OAuthHttpResponse authorize(BrowserRequest request) {
    Map<String, String> p = request.params();
    String clientId = p.get("client_id");
    Optional<RegisteredClient> client = clientId == null ? Optional.empty() : clients.find(clientId);
    if (client.isEmpty()) {
      return errorPage(400, "Unknown client", "No app is registered with this client_id.");
    }
    String redirect = p.get("redirect_uri");
    URI redirectUri;
    try {
      redirectUri = redirect == null ? null : new URI(redirect);
    } catch (Exception e) {
      redirectUri = null;
    }
    if (redirectUri == null || !client.get().redirectUris().contains(redirectUri)) {
      return errorPage(400, "Invalid redirect URI",
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
    if (state.length() > MAX_STATE_LENGTH
        || (p.get("nonce") != null && p.get("nonce").length() > MAX_STATE_LENGTH)) {
      return redirectError(redirectUri, null, "invalid_request",
          "state and nonce may have at most " + MAX_STATE_LENGTH + " characters");
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
    // the browser's binding cookie: kept if it has one, set otherwise
    String browser = request.cookie(BROWSER_COOKIE).filter(v -> v.matches("[A-Za-z0-9_-]{43}"))
        .orElse(null);
    boolean newBrowser = browser == null;
    if (newBrowser) {
      browser = randomId();
    }
    PendingSignIn it = PendingSignIn.builder(clientId, redirectUri, state, challenge, granted)
        .clientName(client.get().name()).nonce(p.get("nonce")).sessionId(sessionId)
        .browserBinding(sha256(browser)).remoteAddress(request.remoteAddress()).build();
    Optional<AuthenticatedUser> sso = request.cookie(SSO_COOKIE).flatMap(store::ssoSession);
    if (sso.isPresent()) {
      return finish(it, sso.get()); // the SSO cookie is this browser's, by construction
    }
    String interactionId = randomId();
    Admission a = store.beginSignIn(interactionId, it, clock.instant().plus(signInTimeout));
    if (a != Admission.ACCEPTED) {
      LOG.debug("sign-in refused at /authorize: {}", a);
      return a == Admission.LIMITED
          ? errorPage(429, "Too many sign-ins in progress", "Too many sign-ins were started from"
              + " your network and not finished. Finish one, or wait a few minutes and try again.")
              .withHeader("Retry-After", String.valueOf(signInTimeout.getSeconds()))
          : errorPage(503, "Sign-in temporarily unavailable", "Too many sign-ins are in progress."
              + " Try again in a few minutes.").withHeader("Retry-After", "60");
    }
    OAuthHttpResponse r = signInStep(interactionId, it, users.start(signInRequest(interactionId, it)));
    return newBrowser ? r.withHeader("Set-Cookie", cookie(BROWSER_COOKIE, browser)) : r;
  }

  /**
   * The authorization endpoint without the browser's details: no binding cookie can be read or
   * set here, so a form sign-in started this way can never complete.
   *
   * @deprecated use {@link #authorize(BrowserRequest)}
   */
  @Deprecated
  public OAuthHttpResponse authorize(Map<String, String> p, String ssoCookie) {
    return authorize(BrowserRequest.builder("GET", p).cookie(SSO_COOKIE, ssoCookie).build());
  }

  /**
   * The sign-in callback: the login form's POST or an upstream IdP's redirect (a GET with
   * {@code code} and {@code state}). Refused: a sign-in from another browser than the one that
   * started it, credentials in a GET, a POST whose {@code Origin} is not this server's, more than
   * the allowed attempts per sign-in or per account.
   */
  public OAuthHttpResponse signIn(BrowserRequest request) {
    Map<String, String> p = request.params();
    if (!request.isPost() && (p.containsKey("password") || p.containsKey("username"))) {
      return errorPage(405, "Sign-in must be posted", "Credentials are accepted only from the"
          + " sign-in form (POST), never in a link. Start again from the app.")
          .withHeader("Allow", "POST");
    }
    if (request.isPost() && request.origin().isPresent()
        && !origin(request.origin().get()).equals(issuerOrigin)) {
      return errorPage(403, "Sign-in refused", "The sign-in form was sent from another site.");
    }
    String interactionId = p.get("interaction");
    if (interactionId == null) {
      interactionId = p.get("state"); // upstream OIDC providers echo our interaction as state
    }
    Optional<PendingSignIn> pending = interactionId == null ? Optional.empty() : store.signIn(interactionId);
    if (pending.isEmpty()) {
      return expired();
    }
    String browser = request.cookie(BROWSER_COOKIE).orElse("");
    if (!MessageDigest.isEqual(sha256(browser).getBytes(StandardCharsets.US_ASCII),
        pending.get().browserBinding().getBytes(StandardCharsets.US_ASCII))) {
      return errorPage(400, "Sign-in not recognised", "This sign-in was started in another browser"
          + " (or cookies are blocked). Start again from the app, in this browser.");
    }
    Optional<PendingSignIn> counted = store.countSignInAttempt(interactionId, maxSignInAttempts);
    if (counted.isEmpty()) {
      return redirectError(pending.get().redirectUri(), pending.get().state(), "access_denied",
          "too many sign-in attempts");
    }
    Optional<String> account = users.accountKey(p);
    if (account.isPresent()) {
      Admission a = store.countAccountAttempt(account.get(), request.remoteAddress(),
          maxFailedSignInsPerAccount, clock.instant().plus(accountLockout));
      if (a == Admission.LIMITED) {
        return errorPage(429, "Too many failed sign-ins", "Too many failed sign-ins for this user"
            + " name. Wait " + accountLockout.toMinutes() + " minutes and try again, or ask your"
            + " administrator.").withHeader("Retry-After", String.valueOf(accountLockout.getSeconds()));
      }
      if (a != Admission.ACCEPTED) {
        return errorPage(503, "Sign-in temporarily unavailable", "Try again in a few minutes.")
            .withHeader("Retry-After", "60");
      }
    }
    SignInStep step = users.resume(signInRequest(interactionId, counted.get()), p);
    if (step.kind() == SignInStep.Kind.AUTHENTICATED) {
      account.ifPresent(store::clearAccountAttempts);
      Optional<PendingSignIn> mine = store.finishSignIn(interactionId);
      if (mine.isEmpty()) {
        return expired(); // finished by a concurrent request
      }
      AuthenticatedUser user = step.user().orElseThrow();
      request.cookie(SSO_COOKIE).ifPresent(store::removeSsoSession);
      String sso = randomId();
      OAuthHttpResponse r = finish(mine.get(), user);
      return store.putSsoSession(sso, user, clock.instant().plus(ssoLifetime))
          ? r.withHeader("Set-Cookie", cookie(SSO_COOKIE, sso)) : r;
    }
    return signInStep(interactionId, counted.get(), step);
  }

  /**
   * The sign-in callback without the browser's details: the binding cookie cannot be checked,
   * so every sign-in through it is refused.
   *
   * @deprecated use {@link #signIn(BrowserRequest)}
   */
  @Deprecated
  public OAuthHttpResponse signIn(Map<String, String> p) {
    return signIn(BrowserRequest.builder("POST", p).build());
  }

  private static OAuthHttpResponse expired() {
    return errorPage(400, "Sign-in expired", "This sign-in is unknown or has expired. Launch the"
        + " app again.");
  }

  private String cookie(String name, String value) {
    return name + "=" + value + "; Path=" + cookiePath + "; HttpOnly; SameSite=Lax"
        + (secureCookies ? "; Secure" : "");
  }

  private SignInRequest signInRequest(String interactionId, PendingSignIn it) {
    return new SignInRequest(interactionId, signInEndpoint(), it.clientId(), it.clientName());
  }

  private OAuthHttpResponse signInStep(String interactionId, PendingSignIn it, SignInStep step) {
    switch (step.kind()) {
      case PAGE:
        return OAuthHttpResponse.html(200, step.html().orElseThrow());
      case REDIRECT:
        return OAuthHttpResponse.redirect(step.redirectUri().orElseThrow());
      case FAILED:
        store.finishSignIn(interactionId);
        return redirectError(it.redirectUri(), it.state(), "access_denied",
            step.error().orElse("sign-in failed"));
      default:
        // AUTHENTICATED straight from start(): an authenticator that needs no interaction
        store.finishSignIn(interactionId);
        return finish(it, step.user().orElseThrow());
    }
  }

  private OAuthHttpResponse finish(PendingSignIn it, AuthenticatedUser user) {
    if (it.sessionId().isPresent()) {
      Optional<StoredContext> ctx = contexts.findBySession(it.sessionId().get(), clock.instant());
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
    AuthorizationGrant grant = AuthorizationGrant.builder(it.clientId(), it.scopes(), user)
        .redirectUri(it.redirectUri()).codeChallenge(it.codeChallenge())
        .sessionId(it.sessionId().orElse(null)).nonce(it.nonce().orElse(null)).build();
    if (store.putCode(code, grant, clock.instant().plus(codeLifetime)) != Admission.ACCEPTED) {
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
    ClientAuthenticator.Result cc = clientAuth.authenticate(p, authorization);
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

  private Duration grantLifetime() {
    return refreshTokenLifetime.compareTo(accessTokenLifetime) > 0 ? refreshTokenLifetime
        : accessTokenLifetime;
  }

  private static OAuthHttpResponse unavailable(String what) {
    return OAuthHttpResponse.error(503, "temporarily_unavailable", what + "; try again shortly")
        .withHeader("Retry-After", "60");
  }

  private OAuthHttpResponse authorizationCodeGrant(RegisteredClient client, Map<String, String> p) {
    String code = p.get("code");
    if (code == null) {
      return OAuthHttpResponse.error(400, "invalid_request", "code is required");
    }
    Instant now = clock.instant();
    String grantId = randomId();
    String refreshSecret = randomId();
    // Redeeming, starting the grant and marking the code used are one atomic step: a replay
    // (even one racing this request) ends the grant, and with it every token issued below.
    CodeRedemption r = store.redeemCode(code, grantId, Optional.of(sha256(refreshSecret)),
        now.plus(grantLifetime()), now.plus(usedCodeMemory()));
    switch (r.status()) {
      case UNKNOWN:
        return OAuthHttpResponse.error(400, "invalid_grant", "the code is unknown or expired");
      case REPLAYED:
        LOG.warn("an authorization code was replayed; revoked the tokens issued from it");
        return OAuthHttpResponse.error(400, "invalid_grant", "the code was already used");
      case FULL:
        return unavailable("too many grants are live");
      default:
        break;
    }
    AuthorizationGrant g = r.grant().orElseThrow();
    String problem = codeProblem(g, client, p);
    if (problem != null) {
      store.endGrant(grantId); // the code is spent either way
      return OAuthHttpResponse.error(400, "invalid_grant", problem);
    }
    return issue(client, g.scopes(), g.user(), g.sessionId().orElse(null), g.nonce().orElse(null),
        grantId, refreshSecret, true);
  }

  private Duration usedCodeMemory() {
    Duration tenMinutes = Duration.ofMinutes(10);
    return codeLifetime.compareTo(tenMinutes) > 0 ? codeLifetime : tenMinutes;
  }

  private static String codeProblem(AuthorizationGrant g, RegisteredClient client, Map<String, String> p) {
    if (!g.clientId().equals(client.clientId())) {
      return "the code was issued to another client";
    }
    if (!g.redirectUri().map(URI::toString).orElse("").equals(p.get("redirect_uri"))) {
      return "redirect_uri does not match the authorization request";
    }
    String verifier = p.get("code_verifier");
    if (verifier == null || !verifier.matches("[A-Za-z0-9._~-]{43,128}")) {
      return "a valid code_verifier is required";
    }
    String computed = CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier(verifier))
        .getValue();
    if (!MessageDigest.isEqual(computed.getBytes(StandardCharsets.US_ASCII),
        g.codeChallenge().orElse("").getBytes(StandardCharsets.US_ASCII))) {
      return "code_verifier does not match";
    }
    return null;
  }

  private OAuthHttpResponse refreshGrant(RegisteredClient client, Map<String, String> p) {
    String rt = p.get("refresh_token");
    int dot = rt == null ? -1 : rt.indexOf('.');
    if (dot <= 0 || dot != rt.lastIndexOf('.')) {
      return OAuthHttpResponse.error(400, "invalid_grant", "the refresh token is unknown or expired");
    }
    String grantId = rt.substring(0, dot);
    SmartScopes asked = null;
    if (p.containsKey("scope")) {
      try {
        asked = SmartScopes.parse(p.get("scope"));
      } catch (IllegalArgumentException e) {
        return OAuthHttpResponse.error(400, "invalid_scope", e.getMessage());
      }
    }
    if (asked != null) {
      // RFC 6749 §6 and §5.2: more than the grant is refused (invalid_scope), before the refresh
      // token is rotated, so the client keeps a usable one
      Optional<AuthorizationGrant> held = store.grant(grantId, client.clientId());
      if (held.isPresent()) {
        for (SmartScope sc : asked.asList()) {
          if (!held.get().scopes().contains(sc)) {
            return OAuthHttpResponse.error(400, "invalid_scope",
                "the scope asked exceeds the grant; ask for the same scopes or fewer");
          }
        }
      }
    }
    String newSecret = randomId();
    RefreshRotation r = store.rotateRefresh(grantId, client.clientId(), sha256(rt.substring(dot + 1)),
        sha256(newSecret), clock.instant().plus(grantLifetime()));
    if (r.status() == RefreshRotation.Status.REPLAYED) {
      LOG.warn("a rotated refresh token was replayed; revoked its grant");
      return OAuthHttpResponse.error(400, "invalid_grant",
          "the refresh token was already used; every token of this grant is now revoked");
    }
    if (r.status() != RefreshRotation.Status.ROTATED) {
      return OAuthHttpResponse.error(400, "invalid_grant", "the refresh token is unknown or expired");
    }
    AuthorizationGrant g = r.grant().orElseThrow();
    SmartScopes scopes = asked == null ? g.scopes() : asked.retainAll(g.scopes());
    return issue(client, scopes, g.user(), g.sessionId().orElse(null), null, grantId, newSecret,
        false);
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
      // resource and Context scopes of the user or system level; no patient scope without a patient
      if (s.level().filter(l -> l != SmartScope.Level.PATIENT).isPresent()) {
        systemOnly.add(s);
      }
    }
    if (systemOnly.isEmpty()) {
      return OAuthHttpResponse.error(400, "invalid_scope",
          "request system/ (or user/) scopes this client is allowed");
    }
    // no grant, no refresh token, no code: nothing is stored for these tokens
    return issue(client, SmartScopes.of(systemOnly), null, null, null, null, null, false);
  }

  /**
   * Signs the tokens. Tokens of a grant carry its id in their {@code jti}
   * ({@code grant.random}): they are valid only while the grant lives.
   */
  private OAuthHttpResponse issue(RegisteredClient client, SmartScopes scopes,
      AuthenticatedUser user, String sessionId, String nonce, String grantId, String refreshSecret,
      boolean withIdToken) {
    Instant now = clock.instant();
    StoredContext ctx = null;
    if (sessionId != null) {
      ctx = contexts.findBySession(sessionId, now).orElse(null);
      if (ctx == null) {
        if (grantId != null) {
          store.endGrant(grantId);
        }
        return OAuthHttpResponse.error(400, "invalid_grant", "the launch context has ended");
      }
    }
    String jti = grantId == null ? UUID.randomUUID().toString()
        : grantId + "." + UUID.randomUUID();
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
    body.put("access_token", signAccessToken(at.build()));
    body.put("token_type", "Bearer");
    body.put("expires_in", accessTokenLifetime.getSeconds());
    body.put("scope", scopes.format());
    boolean wantsRefresh = scopes.contains(SmartScope.OFFLINE_ACCESS)
        || scopes.contains(SmartScope.ONLINE_ACCESS);
    if (wantsRefresh && user != null && grantId != null && refreshSecret != null) {
      body.put("refresh_token", grantId + "." + refreshSecret);
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
      // fhirUser is an id_token claim, not a token-response member
      body.setAll(CoreJson.node(ctx.context().toBuilder().fhirUser(null).build()));
    }
    Audits.record(audit, "token-issue", AuditEventAction.E, true, client.clientId(),
        user == null ? null : user.subject(), null, now);
    return OAuthHttpResponse.json(200, Json.write(body));
  }

  private String fhirUrl(String ref) {
    return ref.startsWith("http") ? ref : fhirBase + "/" + ref;
  }

  /**
   * Called when a launch context ends. Nothing needs to be recorded: every token tied to a
   * launch session is refused once its context is gone (the refresh grant, introspection and the
   * FHIR interceptor all look the context up), so this no longer scans the grants.
   */
  public void revokeSession(String sessionId) {
    Objects.requireNonNull(sessionId);
    LOG.debug("launch session ended; its tokens are refused from now on");
  }

  // ------------------------------------------------------------------ introspection, revocation

  /** RFC 7662. The caller authenticates as a confidential client. */
  public OAuthHttpResponse introspect(Map<String, String> p, String authorization) {
    ClientAuthenticator.Result cc = clientAuth.authenticate(p, authorization);
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

  /**
   * RFC 7009. Revokes only a token this server issued (its signature verifies, or it is one of
   * its refresh tokens) to the calling client (section 2.1); anything else is answered 200 with
   * no effect. A refresh token ends its whole grant. 503 {@code temporarily_unavailable} when
   * the revocation cannot be recorded: the token is then still valid, and the client knows it.
   */
  public OAuthHttpResponse revoke(Map<String, String> p, String authorization) {
    ClientAuthenticator.Result cc = clientAuth.authenticate(p, authorization);
    if (cc.error != null) {
      return cc.error;
    }
    String token = p.get("token");
    if (token == null) {
      return OAuthHttpResponse.error(400, "invalid_request", "token is required");
    }
    String caller = cc.client.clientId();
    int dot = token.indexOf('.');
    if (dot > 0 && dot == token.lastIndexOf('.')) { // grant.secret: one of our refresh tokens?
      if (store.revokeRefresh(token.substring(0, dot), caller, sha256(token.substring(dot + 1)))) {
        LOG.debug("refresh token revoked by {}; its grant ended", caller);
      }
      return OAuthHttpResponse.json(200, "{}");
    }
    Optional<Principal> pr = validator.validate(token); // signature, issuer, audience, expiry
    if (pr.isEmpty() || !caller.equals(pr.get().clientId())) {
      return OAuthHttpResponse.json(200, "{}");
    }
    try {
      JWTClaimsSet c = SignedJWT.parse(token).getJWTClaimsSet();
      if (c.getJWTID() != null && c.getExpirationTime() != null
          && !store.revoke(c.getJWTID(), caller, c.getExpirationTime().toInstant())) {
        return unavailable("the revocation cannot be recorded now; the token is still valid");
      }
    } catch (ParseException e) {
      return OAuthHttpResponse.json(200, "{}"); // cannot happen: it validated
    }
    LOG.debug("access token revoked by {}", caller);
    return OAuthHttpResponse.json(200, "{}");
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The requested scopes an app may have: a non-resource scope (including a {@code Context}
   * scope) only if the client may have exactly it; a resource scope if an allowed resource scope
   * of the same level covers its type and permissions.
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

  /** An id_token (or any token others check against the published keys): RS256. */
  private String sign(JWTClaimsSet claims, String typ) {
    try {
      SigningKey key = keys.signer();
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256)
          .keyID(key.kid()).type(new JOSEObjectType(typ)).build(), claims);
      jwt.sign(key.signer());
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token", e);
    }
  }

  /**
   * An access token: a JWT only this authorization server and its FHIR server check (anyone else
   * asks the introspection endpoint), so it is HS256 under the signing key's derived secret
   * ({@link SigningKey#accessTokenKey()}): a thousandth of an RSA signature, and of the same
   * strength. Same claims, kid and rotation as before; apps never look inside (SMART: opaque).
   */
  private String signAccessToken(JWTClaimsSet claims) {
    try {
      SigningKey key = keys.signer();
      java.util.Optional<com.nimbusds.jose.jwk.OctetSequenceKey> mac = key.accessTokenKey();
      if (mac.isEmpty()) {
        return sign(claims, "at+jwt"); // a vault key: its secret cannot be derived
      }
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256)
          .keyID(key.kid()).type(new JOSEObjectType("at+jwt")).build(), claims);
      jwt.sign(new com.nimbusds.jose.crypto.MACSigner(mac.get()));
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

  private static OAuthHttpResponse errorPage(int status, String title, String text) {
    return OAuthHttpResponse.html(status, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<title>" + title + "</title></head><body><h1 id=\"error-title\">" + title + "</h1><p>"
        + text + "</p></body></html>");
  }

  /** {@code scheme://host[:port]}, lower case, default port left out (as browsers send it). */
  static String origin(URI u) {
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    String host = u.getHost() == null ? "" : u.getHost().toLowerCase(Locale.ROOT);
    int port = u.getPort();
    boolean defaultPort = port == -1 || ("http".equals(scheme) && port == 80)
        || ("https".equals(scheme) && port == 443);
    return scheme + "://" + host + (defaultPort ? "" : ":" + port);
  }

  private static String origin(String header) {
    try {
      return origin(new URI(header.trim()));
    } catch (Exception e) {
      return "null"; // an opaque or malformed origin is never ours
    }
  }

  private static String sha256(String s) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
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
    private SigningKeyStore keyStore;
    private Duration keyRotation = Duration.ofDays(30);
    private Duration keyPublishAhead = Duration.ofSeconds(60);
    private Duration keyRefresh = Duration.ofSeconds(30);
    private Duration accessTokenLifetime = Duration.ofHours(1);
    private Duration refreshTokenLifetime = Duration.ofHours(8);
    private Duration codeLifetime = Duration.ofSeconds(60);
    private Duration ssoLifetime = Duration.ofHours(8);
    private Duration signInTimeout = Duration.ofMinutes(5);
    private int maxSignInAttempts = 5;
    private int maxFailedSignInsPerAccount = 10;
    private Duration accountLockout = Duration.ofMinutes(15);
    private boolean requireSameUser = true;
    private int capacity = 100_000;
    private int maxPendingSignInsPerAddress = 100;
    private AuthorizationStateStore store;

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
    /**
     * Where the signing keys live: shared by every node, kept across restarts. Default: in
     * memory, a new key at every start.
     */
    public Builder signingKeys(SigningKeyStore v) { this.keyStore = Objects.requireNonNull(v); return this; }
    /**
     * How long a signing key signs before the next one takes over (a new key is published
     * {@code keyPublishAhead} before). Default 30 days; null never rotates.
     */
    public Builder keyRotation(Duration v) { this.keyRotation = v; return this; }
    /**
     * How long before it signs a new key is published: longer than any node caches the keys
     * ({@code keyRefresh}). Default 60 s.
     */
    public Builder keyPublishAhead(Duration v) { this.keyPublishAhead = Objects.requireNonNull(v); return this; }
    /** How long a node caches the key list. Default 30 s. */
    public Builder keyRefresh(Duration v) { this.keyRefresh = Objects.requireNonNull(v); return this; }
    public Builder accessTokenLifetime(Duration v) { this.accessTokenLifetime = Objects.requireNonNull(v); return this; }
    public Builder refreshTokenLifetime(Duration v) { this.refreshTokenLifetime = Objects.requireNonNull(v); return this; }
    /** How long an authorization code lives. Default 60 s. */
    public Builder codeLifetime(Duration v) { this.codeLifetime = Objects.requireNonNull(v); return this; }
    public Builder ssoLifetime(Duration v) { this.ssoLifetime = Objects.requireNonNull(v); return this; }
    /** How long a started sign-in waits for its user. Default 5 minutes. */
    public Builder signInTimeout(Duration v) { this.signInTimeout = Objects.requireNonNull(v); return this; }
    /** Credential attempts one sign-in allows before it ends. Default 5. */
    public Builder maxSignInAttempts(int v) { this.maxSignInAttempts = v; return this; }
    /**
     * Credential attempts one user name (known or not) allows per {@code window} before sign-ins
     * with it are refused until the window ends. Default 10 per 15 minutes.
     */
    public Builder accountLockout(int attempts, Duration window) {
      this.maxFailedSignInsPerAccount = attempts;
      this.accountLockout = Objects.requireNonNull(window);
      return this;
    }
    /**
     * Whether the user signing in to the app must be the user who set the context. Default
     * true (HALO's single-sign-on model: the same clinician).
     */
    public Builder requireSameUser(boolean v) { this.requireSameUser = v; return this; }
    /**
     * Bound on each table of the default in-memory state store (pending sign-ins, codes, grants,
     * revocations, ...). Default 100,000. Ignored when {@link #stateStore} is set.
     */
    public Builder capacity(int v) { this.capacity = v; return this; }
    /** Sign-ins one address may have pending (default store). Default 100. */
    public Builder maxPendingSignInsPerAddress(int v) { this.maxPendingSignInsPerAddress = v; return this; }
    /** Where the server keeps its state; by default an {@link InMemoryAuthorizationStateStore}. */
    public Builder stateStore(AuthorizationStateStore v) { this.store = Objects.requireNonNull(v); return this; }

    public SmartAuthorizationServer build() {
      if (issuer == null || fhirBase == null || clients == null || users == null || contexts == null) {
        throw new IllegalStateException("issuer, fhirBase, clients, users and contexts are required");
      }
      if (capacity < 1 || maxPendingSignInsPerAddress < 1 || maxSignInAttempts < 1
          || maxFailedSignInsPerAccount < 1) {
        throw new IllegalStateException("capacity, maxPendingSignInsPerAddress, maxSignInAttempts"
            + " and the account lockout attempts must be positive");
      }
      // the builder is not changed: one builder built twice gives two independent servers
      SigningKeyStore keys = keyStore;
      Duration rotation = keyRotation;
      if (signingKey != null) {
        if (!signingKey.isPrivate()) {
          throw new IllegalStateException("the signing JWK must hold the private key");
        }
        // one fixed key, never rotated
        keys = new InMemorySigningKeyStore();
        keys.addIfNewest(SigningKey.of(signingKey, Instant.EPOCH), java.util.Optional.empty());
        rotation = null;
      } else if (keys == null) {
        keys = new InMemorySigningKeyStore();
      }
      if (rotation != null && rotation.compareTo(keyPublishAhead.multipliedBy(2)) < 0) {
        throw new IllegalStateException("keyRotation must be at least twice keyPublishAhead");
      }
      return new SmartAuthorizationServer(this, keys, rotation);
    }
  }
}
