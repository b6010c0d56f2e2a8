package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessTokenProvider;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SmartAppClientTest {
  private static final URI REDIRECT = URI.create("http://localhost:9999/callback");
  private static final SmartScopes SCOPES =
      SmartScopes.parse("launch openid fhirUser patient/*.rs offline_access");

  private ScriptedAuthServer as;
  private SmartAppClient sof;

  @BeforeEach
  void setUp() throws Exception {
    as = new ScriptedAuthServer();
    sof = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.publicClient("app"))
        .redirectUri(REDIRECT)
        .build();
  }

  @AfterEach
  void tearDown() {
    sof.close();
    as.close();
  }

  private static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    for (String pair : uri.getRawQuery().split("&")) {
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }

  /** A token endpoint that checks the PKCE verifier against the challenge sent earlier. */
  private void tokenEndpointChecking(AtomicReference<String> challenge, String idToken) {
    as.tokenHandler = f -> {
      String expected = CodeChallenge.compute(CodeChallengeMethod.S256,
          new CodeVerifier(f.get("code_verifier"))).getValue();
      if (!"authorization_code".equals(f.get("grant_type")) || !"the-code".equals(f.get("code"))
          || !expected.equals(challenge.get()) || !REDIRECT.toString().equals(f.get("redirect_uri"))
          || !"app".equals(f.get("client_id"))) {
        return ScriptedAuthServer.json(400, "{\"error\":\"invalid_grant\"}");
      }
      return ScriptedAuthServer.json(200, "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\","
          + "\"expires_in\":300,\"scope\":\"launch openid fhirUser patient/*.rs offline_access\","
          + "\"refresh_token\":\"rt-1\",\"id_token\":\"" + idToken + "\",\"patient\":\"p-1\","
          + "\"encounter\":\"e-1\",\"need_patient_banner\":true,"
          + "\"fhirContext\":[{\"reference\":\"ServiceRequest/s-1\"}],\"x-vendor\":{\"k\":1}}");
    };
  }

  private String callback(Map<String, String> q, String extra) {
    return REDIRECT + "?code=the-code&state=" + q.get("state") + extra;
  }

  @Test
  void beginEhrLaunch_buildsSmartAuthorizeUrl() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "launch-123", SmartScopes.parse("openid patient/*.rs"));
    Map<String, String> q = query(r.uri());
    assertThat(r.uri().toString()).startsWith(as.base() + "/authorize?");
    assertThat(q).containsEntry("response_type", "code")
        .containsEntry("client_id", "app")
        .containsEntry("redirect_uri", REDIRECT.toString())
        .containsEntry("launch", "launch-123")
        .containsEntry("aud", as.iss().toString())
        .containsEntry("code_challenge_method", "S256");
    assertThat(q.get("scope").split(" ")).contains("launch", "openid", "patient/*.rs");
    assertThat(Base64.getUrlDecoder().decode(q.get("state"))).hasSizeGreaterThanOrEqualTo(16);
    assertThat(q.get("nonce")).isEqualTo(r.pending().nonce().orElseThrow());
    assertThat(q.get("code_challenge")).isEqualTo(CodeChallenge.compute(CodeChallengeMethod.S256,
        new CodeVerifier(r.pending().codeVerifier())).getValue());
    assertThat(q).doesNotContainKey("code_verifier");
  }

  @Test
  void beginStandaloneLaunch_noLaunchNoNonceWithoutOpenid() {
    AuthorizationRedirect r = sof.beginStandaloneLaunch(as.iss(), SmartScopes.parse("launch/patient patient/*.rs"));
    Map<String, String> q = query(r.uri());
    assertThat(q).doesNotContainKeys("launch", "nonce");
    assertThat(r.pending().nonce()).isEmpty();
  }

  @Test
  void beginEhrLaunch_twice_freshStateAndVerifier() {
    AuthorizationRedirect a = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    AuthorizationRedirect b = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    assertThat(a.pending().state()).isNotEqualTo(b.pending().state());
    assertThat(a.pending().codeVerifier()).isNotEqualTo(b.pending().codeVerifier());
  }

  @Test
  void completeAuthorization_validResponse_returnsTokensContextAndFhirUser() throws Exception {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "launch-123", SCOPES);
    Map<String, String> q = query(r.uri());
    AtomicReference<String> challenge = new AtomicReference<>(q.get("code_challenge"));
    tokenEndpointChecking(challenge, as.idToken(as.signingKey, "app", q.get("nonce"),
        new Date(System.currentTimeMillis() + 300_000), "Practitioner/dr-1"));
    // the pending record survives serialization between the two legs
    PendingAuthorization pending = PendingAuthorization.parse(r.pending().toJson());
    TokenSet t = sof.completeAuthorization(pending, URI.create(callback(q, "")));
    assertThat(t.accessToken().value()).isEqualTo("at-1");
    assertThat(t.launchContext().patient()).contains("p-1");
    assertThat(t.launchContext().encounter()).contains("e-1");
    assertThat(t.launchContext().needPatientBanner()).contains(true);
    assertThat(t.launchContext().fhirContext()).hasSize(1);
    assertThat(t.fhirUser()).contains("Practitioner/dr-1");
    assertThat(t.refreshToken()).contains("rt-1");
    assertThat(t.toString()).doesNotContain("at-1").doesNotContain("rt-1").doesNotContain("p-1");
    assertThat(TokenSet.parse(t.toJson(), t.receivedAt())).isEqualTo(t);
    assertThat(t.toJson()).contains("x-vendor");
  }

  @Test
  void completeAuthorization_stateMismatch_throwsAndSendsNothing() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(),
            URI.create(REDIRECT + "?code=the-code&state=forged")))
        .isInstanceOf(AuthorizationCallbackException.class)
        .hasMessageContaining("state");
    assertThat(as.tokenRequests).isEmpty();
  }

  @Test
  void completeAuthorization_errorRedirect_throwsDenied() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    URI cb = URI.create(REDIRECT + "?error=access_denied&error_description=user+said+no&state="
        + r.pending().state());
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), cb))
        .isInstanceOfSatisfying(AuthorizationDeniedException.class, e -> {
          assertThat(e.oauthError()).contains("access_denied");
          assertThat(e.oauthErrorDescription()).contains("user said no");
        });
    assertThat(as.tokenRequests).isEmpty();
  }

  @Test
  void completeAuthorization_expiredPending_throws() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    SmartAppClient later = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.publicClient("app")).redirectUri(REDIRECT)
        .clock(Clock.fixed(Instant.now().plus(Duration.ofMinutes(11)), ZoneOffset.UTC)).build();
    assertThatThrownBy(() -> later.completeAuthorization(r.pending(),
            URI.create(callback(query(r.uri()), ""))))
        .isInstanceOf(AuthorizationCallbackException.class).hasMessageContaining("older");
  }

  @Test
  void completeAuthorization_noAccessToken_throwsParse() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SmartScopes.parse("patient/*.rs"));
    as.tokenHandler = f -> ScriptedAuthServer.json(200, "{\"token_type\":\"Bearer\",\"scope\":\"patient/*.rs\"}");
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(query(r.uri()), ""))))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("access_token");
  }

  @Test
  void completeAuthorization_wrongTokenType_throwsParse() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SmartScopes.parse("patient/*.rs"));
    as.tokenHandler = f -> ScriptedAuthServer.json(200,
        "{\"access_token\":\"x\",\"token_type\":\"mac\",\"scope\":\"patient/*.rs\"}");
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(query(r.uri()), ""))))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("Bearer");
  }

  @Test
  void completeAuthorization_tokenEndpointError_throwsWithOAuthCode() {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SmartScopes.parse("patient/*.rs"));
    as.tokenHandler = f -> ScriptedAuthServer.json(400,
        "{\"error\":\"invalid_grant\",\"error_description\":\"code already used\"}");
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(query(r.uri()), ""))))
        .isInstanceOfSatisfying(HaloResponseException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(400);
          assertThat(e.oauthError()).contains("invalid_grant");
        });
  }

  @Test
  void completeAuthorization_forgedIdToken_throws() throws Exception {
    RSAKey attacker = new RSAKeyGenerator(2048).keyID("as-key-1").generate();
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    Map<String, String> q = query(r.uri());
    tokenEndpointChecking(new AtomicReference<>(q.get("code_challenge")),
        as.idToken(attacker, "app", q.get("nonce"), new Date(System.currentTimeMillis() + 300_000), "Practitioner/x"));
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(q, ""))))
        .isInstanceOf(IdTokenException.class);
  }

  @Test
  void completeAuthorization_expiredIdToken_throws() throws Exception {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    Map<String, String> q = query(r.uri());
    tokenEndpointChecking(new AtomicReference<>(q.get("code_challenge")),
        as.idToken(as.signingKey, "app", q.get("nonce"), new Date(System.currentTimeMillis() - 600_000), null));
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(q, ""))))
        .isInstanceOf(IdTokenException.class).hasMessageContaining("xpired");
  }

  @Test
  void completeAuthorization_idTokenWrongNonceOrAudience_throws() throws Exception {
    AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    Map<String, String> q = query(r.uri());
    Date exp = new Date(System.currentTimeMillis() + 300_000);
    tokenEndpointChecking(new AtomicReference<>(q.get("code_challenge")),
        as.idToken(as.signingKey, "app", "another-nonce", exp, null));
    assertThatThrownBy(() -> sof.completeAuthorization(r.pending(), URI.create(callback(q, ""))))
        .isInstanceOf(IdTokenException.class).hasMessageContaining("nonce");
    AuthorizationRedirect r2 = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    Map<String, String> q2 = query(r2.uri());
    tokenEndpointChecking(new AtomicReference<>(q2.get("code_challenge")),
        as.idToken(as.signingKey, "other-app", q2.get("nonce"), exp, null));
    assertThatThrownBy(() -> sof.completeAuthorization(r2.pending(), URI.create(callback(q2, ""))))
        .isInstanceOf(IdTokenException.class).hasMessageContaining("audience");
  }

  @Test
  void refresh_rotatedToken_replacesRefreshTokenAndKeepsContext() throws Exception {
    TokenSet first = TokenSet.parse("{\"access_token\":\"a1\",\"token_type\":\"Bearer\",\"expires_in\":60,"
        + "\"scope\":\"patient/*.rs offline_access\",\"refresh_token\":\"r1\",\"patient\":\"p-1\"}", Instant.now());
    as.tokenHandler = f -> "refresh_token".equals(f.get("grant_type")) && "r1".equals(f.get("refresh_token"))
        ? ScriptedAuthServer.json(200, "{\"access_token\":\"a2\",\"token_type\":\"Bearer\","
            + "\"expires_in\":60,\"scope\":\"patient/*.rs offline_access\",\"refresh_token\":\"r2\"}")
        : ScriptedAuthServer.json(400, "{\"error\":\"invalid_grant\"}");
    TokenSet second = sof.refresh(as.iss(), first);
    assertThat(second.accessToken().value()).isEqualTo("a2");
    assertThat(second.refreshToken()).contains("r2");
    assertThat(second.launchContext().patient()).contains("p-1");
  }

  @Test
  void refresh_withoutRotation_keepsOldRefreshToken() {
    TokenSet first = TokenSet.parse("{\"access_token\":\"a1\",\"token_type\":\"Bearer\","
        + "\"scope\":\"x\",\"refresh_token\":\"r1\"}", Instant.now());
    as.tokenHandler = f -> ScriptedAuthServer.json(200,
        "{\"access_token\":\"a2\",\"token_type\":\"Bearer\",\"scope\":\"x\"}");
    assertThat(sof.refresh(as.iss(), first).refreshToken()).contains("r1");
  }

  @Test
  void refresh_refused_throwsInvalidGrant() {
    TokenSet first = TokenSet.parse("{\"access_token\":\"a1\",\"token_type\":\"Bearer\","
        + "\"scope\":\"x\",\"refresh_token\":\"revoked\"}", Instant.now());
    as.tokenHandler = f -> ScriptedAuthServer.json(400, "{\"error\":\"invalid_grant\"}");
    assertThatThrownBy(() -> sof.refresh(as.iss(), first))
        .isInstanceOfSatisfying(HaloResponseException.class,
            e -> assertThat(e.oauthError()).contains("invalid_grant"));
  }

  @Test
  void tokenProvider_expiredAccessToken_refreshesOnceAhead() {
    TokenSet first = TokenSet.parse("{\"access_token\":\"a1\",\"token_type\":\"Bearer\",\"expires_in\":10,"
        + "\"scope\":\"x\",\"refresh_token\":\"r1\"}", Instant.now());
    as.tokenHandler = f -> ScriptedAuthServer.json(200,
        "{\"access_token\":\"a2\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"x\"}");
    AccessTokenProvider p = sof.tokenProvider(as.iss(), first);
    assertThat(p.token().value()).isEqualTo("a2"); // 10 s left < 60 s refresh-ahead
    assertThat(p.token().value()).isEqualTo("a2");
    assertThat(as.tokenRequests).hasSize(1);
  }

  @Test
  void clientSecretBasic_sendsBasicHeader() {
    try (SmartAppClient c = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.clientSecretBasic("conf-app", "s3cret"))
        .build()) {
      as.tokenHandler = f -> ScriptedAuthServer.json(200,
          "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"scope\":\"system/*.rs\"}");
      c.clientCredentials(as.iss(), SmartScopes.parse("system/*.rs"));
      Map<String, String> f = ScriptedAuthServer.form(as.tokenRequests.peek());
      assertThat(f.get("__authorization")).isEqualTo("Basic "
          + Base64.getEncoder().encodeToString("conf-app:s3cret".getBytes(StandardCharsets.UTF_8)));
      assertThat(f).containsEntry("grant_type", "client_credentials").containsEntry("scope", "system/*.rs");
      assertThat(c.toString()).doesNotContain("s3cret");
    }
  }

  @Test
  void privateKeyJwt_rs384_assertionVerifies() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).keyID("k-rs").generate();
    SignedJWT jwt = backendAssertion(ClientAuthentication.privateKeyJwt("backend", key.toPrivateKey(), "k-rs", "RS384"));
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS384);
    assertThat(jwt.verify(new RSASSAVerifier(key.toRSAPublicKey()))).isTrue();
  }

  @Test
  void privateKeyJwt_es384_assertionVerifiesAndJtiIsFresh() throws Exception {
    ECKey key = new ECKeyGenerator(Curve.P_384).keyID("k-ec").algorithm(JWSAlgorithm.ES384).generate();
    ClientAuthentication auth = ClientAuthentication.privateKeyJwtFromJwk("backend", key.toJSONString());
    SignedJWT a = backendAssertion(auth);
    as.tokenRequests.clear();
    SignedJWT b = backendAssertion(auth);
    assertThat(a.verify(new ECDSAVerifier(key.toECPublicKey()))).isTrue();
    assertThat(a.getHeader().getKeyID()).isEqualTo("k-ec");
    assertThat(a.getJWTClaimsSet().getJWTID()).isNotEqualTo(b.getJWTClaimsSet().getJWTID());
  }

  private SignedJWT backendAssertion(ClientAuthentication auth) throws Exception {
    as.tokenHandler = f -> ScriptedAuthServer.json(200,
        "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":300,\"scope\":\"system/*.rs\"}");
    try (SmartAppClient c = SmartAppClient.builder().clientAuthentication(auth).build()) {
      TokenSet t = c.clientCredentials(as.iss(), SmartScopes.parse("system/*.rs"));
      assertThat(t.accessToken().value()).isEqualTo("a");
    }
    Map<String, String> f = ScriptedAuthServer.form(as.tokenRequests.peek());
    assertThat(f).containsEntry("client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    SignedJWT jwt = SignedJWT.parse(f.get("client_assertion"));
    var claims = jwt.getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo("backend");
    assertThat(claims.getSubject()).isEqualTo("backend");
    assertThat(claims.getAudience()).containsExactly(as.base() + "/token");
    assertThat(claims.getJWTID()).isNotBlank();
    assertThat(claims.getExpirationTime()).isBefore(new Date(System.currentTimeMillis() + 301_000));
    return jwt;
  }

  @Test
  void privateKeyJwt_wrongAlgorithm_rejectedAtConfiguration() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).generate();
    assertThatThrownBy(() -> ClientAuthentication.privateKeyJwt("b", key.toPrivateKey(), "k", "RS256"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RS384");
    assertThatThrownBy(() -> ClientAuthentication.privateKeyJwt("b", key.toPrivateKey(), "k", "ES384"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void introspect_andRevoke_useAdvertisedEndpoints() {
    TokenIntrospection i = sof.introspect(as.iss(), "some-token");
    assertThat(i.active()).isTrue();
    assertThat(i.clientId()).contains("app");
    assertThat(i.scopes().format()).isEqualTo("user/*.rs");
    assertThat(TokenIntrospection.parse(i.toJson())).isEqualTo(i);
    RecordedRequest ir = as.tokenRequests.poll();
    assertThat(ScriptedAuthServer.form(ir)).containsEntry("token", "some-token").containsEntry("client_id", "app");
    sof.revoke(as.iss(), "rt-9", true);
    Map<String, String> rf = ScriptedAuthServer.form(as.tokenRequests.poll());
    assertThat(rf).containsEntry("token", "rt-9").containsEntry("token_type_hint", "refresh_token");
  }

  @Test
  void introspect_answerWithoutActive_throwsParse() {
    as.introspectHandler = f -> ScriptedAuthServer.json(200, "{\"scope\":\"x\"}");
    assertThatThrownBy(() -> sof.introspect(as.iss(), "t"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("active");
  }

  @Test
  void discover_cachedUntilMaxAge_andNoStoreRefetches() {
    as.smartConfigCacheControl = "max-age=600";
    sof.discover(as.iss());
    sof.discover(URI.create(as.iss() + "/"));
    assertThat(as.discoveryHits).hasValue(1);
    try (SmartAppClient c = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.publicClient("app")).build()) {
      as.smartConfigCacheControl = "no-store";
      c.discover(as.iss());
      c.discover(as.iss());
      assertThat(as.discoveryHits).hasValue(3);
    }
  }

  @Test
  void discover_documentOfferingOnlyPlain_throwsParse() {
    as.smartConfigOverride = as.smartConfig().replace("\"S256\"", "\"plain\"");
    assertThatThrownBy(() -> sof.discover(as.iss()))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("S256");
  }

  @Test
  void discover_404_throwsResponse() {
    assertThatThrownBy(() -> sof.discover(URI.create(as.base() + "/nothing")))
        .isInstanceOfSatisfying(HaloResponseException.class, e -> assertThat(e.httpStatus()).isEqualTo(404));
  }

  @Test
  void builder_withoutAuthentication_failsInBuild() {
    assertThatThrownBy(() -> SmartAppClient.builder().redirectUri(REDIRECT).build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> SmartAppClient.builder().clientAuthentication(ClientAuthentication.publicClient("a"))
            .redirectUri(URI.create("/relative")).build())
        .isInstanceOf(IllegalStateException.class);
  }
}
