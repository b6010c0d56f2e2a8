package ca.halo.sof;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.SmartCapability;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScope;
import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.auth.RefreshingAccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.Json;
import ca.halo.core.internal.http.NimbusHttp;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.ClientCredentialsGrant;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenIntrospectionRequest;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenRevocationRequest;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.BearerAccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Token;
import com.nimbusds.oauth2.sdk.token.TypelessAccessToken;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SMART App Launch 2.1 client of a SMART app: discovery, authorization code + PKCE (EHR and
 * standalone launch), token exchange, id_token validation, refresh, backend services, and RFC 7662
 * introspection / RFC 7009 revocation.
 *
 * <pre>{@code
 * SmartAppClient sof = SmartAppClient.builder()
 *     .clientAuthentication(ClientAuthentication.publicClient("my-app"))
 *     .redirectUri(URI.create("https://app.example/callback"))
 *     .build();
 * // on /launch?iss=...&launch=...
 * AuthorizationRedirect r = sof.beginEhrLaunch(iss, launch, SmartScopes.parse("launch openid fhirUser patient/*.rs"));
 * session.put("pending", r.pending().toJson());  redirect(r.uri());
 * // on /callback
 * TokenSet tokens = sof.completeAuthorization(PendingAuthorization.parse(saved), callbackUri);
 * }</pre>
 *
 * <p>Thread-safe; build one per registered client and share it. Discovery documents and JWK sets
 * are cached per issuer, honouring {@code Cache-Control} up to one day. {@link #close()} closes the
 * {@link HaloHttp} only if this client made it.
 *
 * <p>Security defaults that cannot be turned off: PKCE S256 on every authorization, {@code state}
 * of 256 bits from a CSPRNG checked on the callback, {@code nonce} with {@code openid} checked in
 * the id_token, {@code aud} = {@code iss}, id_token signature checked against the issuer's JWKS.
 *
 * <p>Spec: SMART App Launch 2.1.0 sections 2.0 (app launch), 5 (backend services), 7 (client
 * authentication); RFC 6749, 7636, 7662, 7009, 7523; OpenID Connect Core 3.1.3.7. HALO CA:SoF-1,
 * CA:SoF-2, CA:SoF-3.
 */
public final class SmartAppClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SmartAppClient.class);
  private static final Set<JWSAlgorithm> ID_TOKEN_ALGS =
      Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512, JWSAlgorithm.ES256,
          JWSAlgorithm.ES384, JWSAlgorithm.PS256, JWSAlgorithm.PS384);

  private final ClientAuthentication auth;
  private final URI redirectUri;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final Clock clock;
  private final Duration defaultCacheTtl;
  private final Duration pendingLifetime;
  private final Duration maxClockSkew;
  private final Map<URI, Cached<SmartConfiguration>> discovery = new ConcurrentHashMap<>();
  private final Map<URI, Cached<JWKSet>> jwks = new ConcurrentHashMap<>();
  private final Map<URI, SmartConfiguration> openIdProviders = new ConcurrentHashMap<>();

  private SmartAppClient(Builder b) {
    this.auth = b.auth;
    this.redirectUri = b.redirectUri;
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    this.clock = b.clock;
    this.defaultCacheTtl = b.defaultCacheTtl;
    this.pendingLifetime = b.pendingLifetime;
    this.maxClockSkew = b.maxClockSkew;
  }

  public static Builder builder() {
    return new Builder();
  }

  public String clientId() {
    return auth.clientId();
  }

  // ---------------------------------------------------------------- discovery (CA:SoF-2)

  /**
   * Fetches {@code [iss]/.well-known/smart-configuration}, from cache while fresh.
   *
   * @throws ca.halo.core.HaloTransportException on I/O failure
   * @throws HaloResponseException if the server answers an error status
   * @throws HaloParseException if the document breaks SMART 2.1
   */
  public SmartConfiguration discover(URI iss) {
    URI base = normalizeBase(iss);
    SmartConfiguration pinned = openIdProviders.get(base);
    if (pinned != null) {
      return pinned;
    }
    Cached<SmartConfiguration> c = discovery.get(base);
    if (c != null && c.fresh(clock)) {
      return c.value;
    }
    URI url = URI.create(base + "/.well-known/smart-configuration");
    HTTPResponse r = NimbusHttp.get(http, url, "SMART discovery");
    if (r.getStatusCode() != 200) {
      throw HaloResponseException.http(
          "SMART discovery at " + url + " answered HTTP " + r.getStatusCode()
              + ": check that iss names a SMART-enabled FHIR base",
          r.getStatusCode());
    }
    SmartConfiguration config = SmartConfiguration.parse(r.getBody());
    cache(discovery, base, config, r);
    return config;
  }

  /**
   * Reads a plain OpenID Connect provider's metadata ({@code [issuer]/.well-known/openid-configuration})
   * for an authorization server that serves no SMART configuration (an IdP such as Keycloak used
   * for the clinician's login or for backend services), and keeps it as that issuer's
   * configuration until called again (whatever its Cache-Control says), so {@link #beginStandaloneLaunch}, {@link #clientCredentials},
   * {@link #introspect} and {@link #revoke} work against it with {@code iss} = the issuer.
   *
   * @throws HaloParseException if the metadata lacks what SMART needs (token endpoint, S256)
   */
  public SmartConfiguration discoverOpenIdProvider(URI issuer) {
    URI base = normalizeBase(issuer);
    URI url = URI.create(base + "/.well-known/openid-configuration");
    HTTPResponse r = NimbusHttp.get(http, url, "OpenID discovery");
    if (r.getStatusCode() != 200) {
      throw HaloResponseException.http("OpenID discovery at " + url + " answered HTTP "
          + r.getStatusCode(), r.getStatusCode());
    }
    ObjectNode o = Json.parseObject(r.getBody(), "openid-configuration");
    ObjectNode smart = o.deepCopy();
    if (!smart.has("grant_types_supported")) {
      smart.putArray("grant_types_supported").add("authorization_code"); // OIDC Discovery default
    }
    // a general-purpose IdP may also offer plain; this client only ever uses S256, so keep that
    boolean s256 = false;
    for (com.fasterxml.jackson.databind.JsonNode m : o.path("code_challenge_methods_supported")) {
      s256 |= "S256".equals(m.asText());
    }
    if (!s256) {
      throw new HaloParseException("the provider at " + base + " does not offer PKCE S256");
    }
    smart.putArray("code_challenge_methods_supported").add("S256");
    com.fasterxml.jackson.databind.node.ArrayNode caps = smart.putArray("capabilities");
    caps.add("launch-standalone").add("sso-openid-connect").add("client-public")
        .add("client-confidential-symmetric").add("client-confidential-asymmetric");
    SmartConfiguration config = SmartConfiguration.parse(Json.write(smart));
    if (!config.issuer().map(i -> normalizeBase(i).equals(base)).orElse(false)) {
      throw new HaloParseException("the provider's metadata names issuer "
          + config.issuer().orElse(null) + ", not " + base);
    }
    openIdProviders.put(base, config);
    return config;
  }

  /** The longest a discovery document or JWK set is kept, whatever Cache-Control says. */
  static final Duration MAX_CACHE_TTL = Duration.ofDays(1);

  private <T> void cache(Map<URI, Cached<T>> map, URI key, T value, HTTPResponse r) {
    Duration ttl = cacheTtl(r.getHeaderValue("Cache-Control"));
    if (ttl.compareTo(MAX_CACHE_TTL) > 0) {
      // a huge max-age would overflow Instant.plus, and keys and endpoints do change
      ttl = MAX_CACHE_TTL;
    }
    if (ttl.isZero()) {
      map.remove(key);
    } else {
      map.put(key, new Cached<>(value, clock.instant().plus(ttl)));
    }
  }

  Duration cacheTtl(String cacheControl) {
    if (cacheControl == null) {
      return defaultCacheTtl;
    }
    Duration ttl = defaultCacheTtl;
    for (String d : cacheControl.toLowerCase(java.util.Locale.ROOT).split(",")) {
      d = d.trim();
      if (d.equals("no-store") || d.equals("no-cache")) {
        return Duration.ZERO;
      }
      if (d.startsWith("max-age=")) {
        try {
          ttl = Duration.ofSeconds(Math.max(0, Long.parseLong(d.substring(8).trim())));
        } catch (NumberFormatException e) {
          return Duration.ZERO;
        }
      }
    }
    return ttl;
  }

  // ---------------------------------------------------------------- authorize (CA:SoF-3)

  /**
   * Starts an EHR launch: the app was opened with {@code iss} and {@code launch}.
   *
   * @param scopes the scopes to request; {@code launch} is added if missing
   */
  public AuthorizationRedirect beginEhrLaunch(URI iss, String launch, SmartScopes scopes) {
    Objects.requireNonNull(launch, "launch");
    if (launch.isBlank()) {
      throw new IllegalArgumentException("launch must not be blank");
    }
    SmartScopes s = scopes.contains(SmartScope.LAUNCH) ? scopes : scopes.with(SmartScope.LAUNCH);
    return begin(iss, launch, s);
  }

  /** Starts a standalone launch against {@code iss} (no {@code launch} parameter). */
  public AuthorizationRedirect beginStandaloneLaunch(URI iss, SmartScopes scopes) {
    return begin(iss, null, scopes);
  }

  private AuthorizationRedirect begin(URI iss, String launch, SmartScopes scopes) {
    Objects.requireNonNull(iss, "iss");
    Objects.requireNonNull(scopes, "scopes");
    URI base = normalizeBase(iss);
    SmartConfiguration config = discover(base);
    URI authz = config.authorizationEndpoint().orElseThrow(() -> new HaloParseException(
        "smart-configuration of " + base + " has no authorization_endpoint: the server does not"
            + " support user-facing launches"));
    http.checkTransport(authz);
    CodeVerifier verifier = new CodeVerifier();
    State state = new State(32);
    Nonce nonce = scopes.contains(SmartScope.OPENID) ? new Nonce(32) : null;
    com.nimbusds.oauth2.sdk.AuthorizationRequest.Builder rb =
        new com.nimbusds.oauth2.sdk.AuthorizationRequest.Builder(
                new ResponseType(ResponseType.Value.CODE), new ClientID(auth.clientId()))
            .endpointURI(authz)
            .redirectionURI(redirectUri)
            .scope(Scope.parse(scopes.format()))
            .state(state)
            .codeChallenge(verifier, CodeChallengeMethod.S256)
            .customParameter("aud", base.toString());
    if (launch != null) {
      rb.customParameter("launch", launch);
    }
    if (nonce != null) {
      rb.customParameter("nonce", nonce.getValue());
    }
    URI uri = rb.build().toURI();
    PendingAuthorization pending = new PendingAuthorization(
        base, authz, config.tokenEndpoint(), auth.clientId(), redirectUri, state.getValue(),
        nonce == null ? null : nonce.getValue(), verifier.getValue(), scopes, launch,
        clock.instant());
    LOG.debug("authorization started for client {} at {}", auth.clientId(), base);
    return new AuthorizationRedirect(uri, pending);
  }

  /**
   * Completes the authorization from the redirect back to the app: checks {@code state}, turns an
   * error redirect into {@link AuthorizationDeniedException}, exchanges the code (with the PKCE
   * verifier), and validates the id_token when one comes back.
   *
   * @param callback the full redirect URL the browser arrived on (query included)
   * @throws AuthorizationCallbackException on a state mismatch, a missing code, or an expired
   *     pending authorization
   * @throws AuthorizationDeniedException if the server redirected with an error
   * @throws HaloResponseException if the token endpoint answers an OAuth error
   * @throws IdTokenException if the id_token fails validation
   */
  public TokenSet completeAuthorization(PendingAuthorization pending, URI callback) {
    Objects.requireNonNull(pending, "pending");
    Objects.requireNonNull(callback, "callback");
    Map<String, String> q = query(callback.getRawQuery());
    String state = q.get("state");
    if (state == null || !constantTimeEquals(state, pending.state())) {
      throw new AuthorizationCallbackException(
          "the redirect's state does not match the pending authorization: possible CSRF or a"
              + " mixed-up session. Discard it and start a new launch.");
    }
    if (clock.instant().isAfter(pending.createdAt().plus(pendingLifetime))) {
      throw new AuthorizationCallbackException(
          "the pending authorization is older than " + pendingLifetime + ": start a new launch");
    }
    if (q.containsKey("error")) {
      throw new AuthorizationDeniedException(q.get("error"), q.get("error_description"));
    }
    String code = q.get("code");
    if (code == null || code.isBlank()) {
      throw new AuthorizationCallbackException("the redirect carries neither code nor error");
    }
    if (!pending.clientId().equals(auth.clientId())) {
      throw new IllegalArgumentException("the pending authorization belongs to client "
          + pending.clientId() + ", not " + auth.clientId());
    }
    AuthorizationGrant grant = new AuthorizationCodeGrant(
        new AuthorizationCode(code), pending.redirectUri(), new CodeVerifier(pending.codeVerifier()));
    TokenSet tokens = exchange(pending.tokenEndpoint(), grant, null);
    return validateIdToken(pending.iss(), tokens, pending.nonce().orElse(null));
  }

  // ---------------------------------------------------------------- refresh, backend services

  /**
   * Refreshes with the set's refresh token. A server that rotates refresh tokens returns a new
   * one; otherwise the old one is kept. Launch context not repeated by the server is kept.
   *
   * @throws IllegalStateException if the set has no refresh token
   * @throws HaloResponseException if the server refuses (for example {@code invalid_grant})
   */
  public TokenSet refresh(URI iss, TokenSet tokens) {
    String rt = tokens.refreshToken().orElseThrow(() -> new IllegalStateException(
        "this token set has no refresh token: request offline_access or online_access"));
    SmartConfiguration config = discover(iss);
    TokenSet fresh = exchange(config.tokenEndpoint(), new RefreshTokenGrant(new RefreshToken(rt)),
        null);
    if (fresh.idToken().isPresent()) {
      fresh = validateIdToken(normalizeBase(iss), fresh, null);
    }
    return tokens.mergeRefresh(fresh);
  }

  /**
   * Backend services: a client-credentials grant authenticated with {@code private_key_jwt}
   * (SMART 2.1 section 5), for {@code system/} scopes.
   */
  public TokenSet clientCredentials(URI iss, SmartScopes scopes) {
    if (auth.method() == ClientAuthentication.Method.NONE) {
      throw new IllegalStateException("client_credentials needs a confidential client");
    }
    SmartConfiguration config = discover(iss);
    return exchange(config.tokenEndpoint(), new ClientCredentialsGrant(),
        Scope.parse(scopes.format()));
  }

  /**
   * An {@link AccessTokenProvider} over {@code tokens} that refreshes ahead of expiry (with the
   * refresh token) and once after a 401.
   */
  public AccessTokenProvider tokenProvider(URI iss, TokenSet tokens) {
    TokenSet[] holder = {tokens};
    return RefreshingAccessTokenProvider.builder(current -> {
          synchronized (holder) {
            if (holder[0].refreshToken().isEmpty()) {
              throw HaloResponseException.http(
                  "the access token expired or was refused and there is no refresh token:"
                      + " the user must launch again", 401);
            }
            holder[0] = refresh(iss, holder[0]);
            return holder[0].accessToken();
          }
        })
        .initial(tokens.accessToken())
        .clock(clock)
        .build();
  }

  /** An {@link AccessTokenProvider} for backend services that runs the grant again as needed. */
  public AccessTokenProvider backendTokenProvider(URI iss, SmartScopes scopes) {
    return RefreshingAccessTokenProvider.builder(current -> clientCredentials(iss, scopes)
            .accessToken())
        .clock(clock)
        .build();
  }

  // ---------------------------------------------------------------- introspection, revocation

  /**
   * RFC 7662 introspection at the endpoint the server advertises.
   *
   * @throws IllegalStateException if the server advertises no introspection_endpoint
   */
  public TokenIntrospection introspect(URI iss, String token) {
    SmartConfiguration config = discover(iss);
    URI endpoint = config.introspectionEndpoint().orElseThrow(() -> new IllegalStateException(
        "the server at " + iss + " advertises no introspection_endpoint"));
    com.nimbusds.oauth2.sdk.auth.ClientAuthentication ca = auth.toNimbus(endpoint);
    TokenIntrospectionRequest req = ca != null
        ? new TokenIntrospectionRequest(endpoint, ca, new TypelessAccessToken(token))
        : new TokenIntrospectionRequest(endpoint, new TypelessAccessToken(token));
    HTTPRequest hr = req.toHTTPRequest();
    if (ca == null) {
      hr.appendQueryParameters(Map.of("client_id", List.of(auth.clientId())));
    }
    HTTPResponse r = NimbusHttp.send(http, hr, "token introspection");
    if (r.getStatusCode() != 200) {
      throw oauthError("token introspection", r);
    }
    return TokenIntrospection.parse(r.getBody());
  }

  /**
   * RFC 7009 revocation at the endpoint the server advertises. A server answers 200 whether or not
   * the token was known.
   */
  public void revoke(URI iss, String token, boolean isRefreshToken) {
    SmartConfiguration config = discover(iss);
    URI endpoint = config.revocationEndpoint().orElseThrow(() -> new IllegalStateException(
        "the server at " + iss + " advertises no revocation_endpoint"));
    Token t = isRefreshToken ? new RefreshToken(token) : new BearerAccessToken(token);
    com.nimbusds.oauth2.sdk.auth.ClientAuthentication ca = auth.toNimbus(endpoint);
    TokenRevocationRequest req = ca != null
        ? new TokenRevocationRequest(endpoint, ca, t)
        : new TokenRevocationRequest(endpoint, new ClientID(auth.clientId()), t);
    HTTPResponse r = NimbusHttp.send(http, req.toHTTPRequest(), "token revocation");
    if (r.getStatusCode() != 200) {
      throw oauthError("token revocation", r);
    }
  }

  // ---------------------------------------------------------------- internals

  private TokenSet exchange(URI tokenEndpoint, AuthorizationGrant grant, Scope scope) {
    com.nimbusds.oauth2.sdk.auth.ClientAuthentication ca = auth.toNimbus(tokenEndpoint);
    TokenRequest req = ca != null
        ? new TokenRequest(tokenEndpoint, ca, grant, scope)
        : new TokenRequest(tokenEndpoint, new ClientID(auth.clientId()), grant, scope);
    HTTPResponse r = NimbusHttp.send(http, req.toHTTPRequest(), "token request");
    if (r.getStatusCode() != 200) {
      throw oauthError("token request", r);
    }
    TokenSet tokens = TokenSet.parse(r.getBody(), clock.instant());
    LOG.debug("token issued to client {} (scopes: {})", auth.clientId(), tokens.scopes());
    return tokens;
  }

  static HaloResponseException oauthError(String what, HTTPResponse r) {
    String error = null;
    String description = null;
    try {
      ObjectNode o = Json.parseObject(r.getBody(), what);
      error = Json.optionalString(o, "error", what);
      description = Json.optionalString(o, "error_description", what);
    } catch (RuntimeException e) {
      // not an RFC 6749 error body; report the status alone
    }
    if (error == null) {
      return HaloResponseException.http(
          what + " failed with HTTP " + r.getStatusCode() + " and no OAuth error body",
          r.getStatusCode());
    }
    return HaloResponseException.oauth(what + " refused", r.getStatusCode(), error, description);
  }

  private TokenSet validateIdToken(URI iss, TokenSet tokens, String expectedNonce) {
    if (tokens.idToken().isEmpty()) {
      if (expectedNonce != null) {
        throw new IdTokenException(
            "openid was requested and granted but the token response has no id_token", null);
      }
      return tokens;
    }
    SmartConfiguration config = discover(iss);
    URI issuer = config.issuer().orElse(null);
    URI jwksUri = config.jwksUri().orElse(null);
    if (issuer == null || jwksUri == null) {
      throw new IdTokenException("the server returned an id_token but its smart-configuration"
          + " names no issuer and jwks_uri to check it against", null);
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(tokens.idToken().get());
    } catch (java.text.ParseException e) {
      throw new IdTokenException("the id_token is not a JWT: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // Nimbus 10.9 throws NullPointerException on a header that is JSON null, for one
      throw new IdTokenException("the id_token is not a JWT (" + e.getClass().getSimpleName()
          + ")", e);
    }
    IDTokenClaimsSet claims = validate(jwt, issuer, jwksUri, expectedNonce, false);
    Object fhirUser = claims.getClaim("fhirUser");
    return fhirUser instanceof String ? tokens.withFhirUser((String) fhirUser) : tokens;
  }

  private IDTokenClaimsSet validate(
      JWT jwt, URI issuer, URI jwksUri, String expectedNonce, boolean refetched) {
    JWKSet keys = jwkSet(jwksUri, refetched);
    IDTokenValidator validator = new IDTokenValidator(
        new Issuer(issuer.toString()), new ClientID(auth.clientId()),
        new JWSVerificationKeySelector<SecurityContext>(ID_TOKEN_ALGS, new ImmutableJWKSet<>(keys)),
        null);
    validator.setMaxClockSkew((int) maxClockSkew.getSeconds());
    try {
      return validator.validate(jwt, expectedNonce == null ? null : new Nonce(expectedNonce));
    } catch (com.nimbusds.jose.proc.BadJOSEException e) {
      if (!refetched && e.getMessage() != null && e.getMessage().contains("matching key")) {
        return validate(jwt, issuer, jwksUri, expectedNonce, true); // keys may have rotated
      }
      throw new IdTokenException("the id_token is invalid: " + e.getMessage()
          + ". Do not use the tokens of this response.", e);
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new IdTokenException("the id_token cannot be verified: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // the keys are already fetched: whatever else fails here fails on the token's content
      throw new IdTokenException("the id_token cannot be verified (" + e.getClass().getSimpleName()
          + ")", e);
    }
  }

  private JWKSet jwkSet(URI jwksUri, boolean force) {
    Cached<JWKSet> c = jwks.get(jwksUri);
    if (!force && c != null && c.fresh(clock)) {
      return c.value;
    }
    HTTPResponse r = NimbusHttp.get(http, jwksUri, "JWKS");
    if (r.getStatusCode() != 200) {
      throw HaloResponseException.http("JWKS at " + jwksUri + " answered HTTP "
          + r.getStatusCode(), r.getStatusCode());
    }
    try {
      JWKSet set = JWKSet.parse(r.getBody());
      cache(jwks, jwksUri, set, r);
      return set;
    } catch (java.text.ParseException e) {
      throw new HaloParseException("JWKS at " + jwksUri + " is not a JWK set", e);
    }
  }

  static URI normalizeBase(URI iss) {
    String s = iss.toString();
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    return URI.create(s);
  }

  private static Map<String, String> query(String rawQuery) {
    Map<String, String> out = new HashMap<>();
    if (rawQuery == null) {
      return out;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.putIfAbsent(k, v);
    }
    return out;
  }

  private static boolean constantTimeEquals(String a, String b) {
    return java.security.MessageDigest.isEqual(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void close() {
    if (ownsHttp) {
      http.close();
    }
  }

  @Override
  public String toString() {
    return "SmartAppClient{" + auth + ", redirectUri=" + redirectUri + "}";
  }

  private static final class Cached<T> {
    final T value;
    final Instant until;

    Cached(T value, Instant until) {
      this.value = value;
      this.until = until;
    }

    boolean fresh(Clock clock) {
      return clock.instant().isBefore(until);
    }
  }

  /** Builds a {@link SmartAppClient}; {@link #build()} checks the settings. */
  public static final class Builder {
    private ClientAuthentication auth;
    private URI redirectUri;
    private HaloHttp http;
    private Clock clock = Clock.systemUTC();
    private Duration defaultCacheTtl = Duration.ofMinutes(5);
    private Duration pendingLifetime = Duration.ofMinutes(10);
    private Duration maxClockSkew = Duration.ofSeconds(60);

    private Builder() {}

    public Builder clientAuthentication(ClientAuthentication auth) {
      this.auth = Objects.requireNonNull(auth, "auth");
      return this;
    }

    /** The redirect URI registered for this client; sent exactly as given. */
    public Builder redirectUri(URI redirectUri) {
      this.redirectUri = Objects.requireNonNull(redirectUri, "redirectUri");
      return this;
    }

    /** A shared HTTP stack; by default the client makes (and closes) its own. */
    public Builder http(HaloHttp http) {
      this.http = Objects.requireNonNull(http, "http");
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How long discovery and JWKS answers without Cache-Control are kept. Default 5 minutes;
     * nothing is kept longer than one day.
     */
    public Builder defaultCacheTtl(Duration ttl) {
      this.defaultCacheTtl = Objects.requireNonNull(ttl, "ttl");
      return this;
    }

    /** How long a pending authorization may wait for its callback. Default 10 minutes. */
    public Builder pendingLifetime(Duration d) {
      this.pendingLifetime = Objects.requireNonNull(d, "pendingLifetime");
      return this;
    }

    public Builder maxClockSkew(Duration d) {
      this.maxClockSkew = Objects.requireNonNull(d, "maxClockSkew");
      return this;
    }

    public SmartAppClient build() {
      if (auth == null) {
        throw new IllegalStateException("clientAuthentication is required");
      }
      if (redirectUri == null) {
        // backend-services-only clients never redirect; a placeholder keeps begin() honest
        redirectUri = URI.create("urn:ietf:wg:oauth:2.0:oob:none");
      } else if (!redirectUri.isAbsolute() || redirectUri.getFragment() != null) {
        throw new IllegalStateException("redirectUri must be absolute and carry no fragment");
      }
      return new SmartAppClient(this);
    }
  }
}
