package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestClock;
import ca.halo.server.TestSofa;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each security rule of the authorization server broken once: the RFC 6749 error, no token. */
class AuthorizationServerSecurityTest {
  private final TestClock clock = new TestClock(Instant.now());
  private TestSofa sofa;
  private Browser browser;
  private String emr;
  private String launch;

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.clock(clock));
    browser = new Browser();
    emr = sofa.emrToken(browser, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    launch = TestSofa.launchId(out);
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  private Map<String, String> appAuthorize() {
    Map<String, String> p = new HashMap<>();
    p.put("client_id", "app");
    p.put("redirect_uri", TestSofa.APP_REDIRECT.toString());
    p.put("aud", sofa.fhirBase().toString());
    p.put("launch", launch);
    p.put("scope", "launch openid fhirUser patient/*.rs offline_access");
    return p;
  }

  private Browser.Authz authorize(Map<String, String> p) throws Exception {
    return browser.authorize(sofa.authorize(), p, "dr.tremblay", "password");
  }

  private HttpResponse<String> exchange(Browser.Authz a, Map<String, String> overrides) throws Exception {
    Map<String, String> f = new HashMap<>(Map.of("grant_type", "authorization_code",
        "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "app"));
    f.putAll(overrides);
    return browser.postForm(sofa.token(), f, null);
  }

  private static void oauthError(HttpResponse<String> r, int status, String error) throws Exception {
    assertThat(r.statusCode()).isEqualTo(status);
    JsonNode j = TestSofa.json(r.body());
    assertThat(j.get("error").asText()).isEqualTo(error);
    assertThat(j.has("access_token")).isFalse();
  }

  private static void redirectError(Browser.Authz a, String error) {
    assertThat(a.last.statusCode()).isEqualTo(302);
    Map<String, String> cb = a.callback();
    assertThat(cb).containsEntry("error", error).doesNotContainKey("code");
  }

  private boolean active(String token) throws Exception {
    HttpResponse<String> r = browser.postForm(sofa.server.authorizationServer().introspectionEndpoint(),
        Map.of("token", token), TestSofa.basic("emr", TestSofa.EMR_SECRET));
    assertThat(r.statusCode()).isEqualTo(200);
    return TestSofa.json(r.body()).get("active").asBoolean();
  }

  /**
   * Access tokens are HS256 under a secret derived from the signing key's private part (issue 18:
   * one RSA signature per token response instead of two). The id_token stays RS256; the JWKS
   * publishes no secret; nothing public (modulus, exponent, the public JWK, the kid) forges an
   * access token, and neither does the genuine token's MAC over changed claims.
   */
  @Test
  void accessToken_isHs256UnderTheSigningKid_jwksHasNoSecret_andNoPublicPartForgesOne() throws Exception {
    JsonNode t = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    SignedJWT at = SignedJWT.parse(t.get("access_token").asText());
    SignedJWT id = SignedJWT.parse(t.get("id_token").asText());
    assertThat(at.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.HS256);
    assertThat(id.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
    assertThat(at.getHeader().getKeyID()).isEqualTo(id.getHeader().getKeyID());
    assertThat(active(at.serialize())).isTrue();

    String jwksJson = browser.get(sofa.server.authorizationServer().jwksUri()).body();
    com.nimbusds.jose.jwk.JWKSet jwks = com.nimbusds.jose.jwk.JWKSet.parse(jwksJson);
    assertThat(jwks.getKeys()).isNotEmpty().allSatisfy(k -> {
      assertThat(k).isInstanceOf(com.nimbusds.jose.jwk.RSAKey.class);
      assertThat(k.isPrivate()).isFalse();
    });
    assertThat(jwksJson).doesNotContain("\"k\"").doesNotContain("\"d\"").doesNotContain("oct");

    com.nimbusds.jose.jwk.RSAKey pub = (com.nimbusds.jose.jwk.RSAKey) jwks.getKeyByKeyId(at.getHeader().getKeyID());
    JWTClaimsSet wider = new JWTClaimsSet.Builder(at.getJWTClaimsSet()).jwtID(UUID.randomUUID().toString())
        .claim("scope", "user/*.cruds system/Context.admin").build();
    List<byte[]> guesses = List.of(pub.getModulus().decode(), pub.getPublicExponent().decode(),
        pub.toJSONString().getBytes(java.nio.charset.StandardCharsets.UTF_8),
        pub.toPublicKey().getEncoded(),
        java.security.MessageDigest.getInstance("SHA-256").digest(pub.getKeyID().getBytes()));
    for (byte[] g : guesses) {
      byte[] secret = g.length >= 32 ? g : java.util.Arrays.copyOf(g, 32);
      SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(pub.getKeyID())
          .type(new com.nimbusds.jose.JOSEObjectType("at+jwt")).build(), wider);
      forged.sign(new com.nimbusds.jose.crypto.MACSigner(secret));
      assertThat(active(forged.serialize())).as("HS256 keyed with a public part").isFalse();
      HttpResponse<String> read = browser.http.send(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/Patient"))
          .header("Authorization", "Bearer " + forged.serialize()).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(read.statusCode()).isEqualTo(401);
    }
    // the genuine MAC over other claims
    String[] parts = at.serialize().split("\\.");
    String swapped = parts[0] + "." + com.nimbusds.jose.util.Base64URL.encode(wider.toString()) + "." + parts[2];
    assertThat(active(swapped)).isFalse();
    // alg "none" and an RS256 header over the same MAC
    assertThat(active(new PlainJWT(wider).serialize())).isFalse();
    String rsHeader = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(pub.getKeyID()).build().toBase64URL().toString();
    assertThat(active(rsHeader + "." + parts[1] + "." + parts[2])).isFalse();
  }

  @Test
  void authorize_plainPkce_refused() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("code_challenge_method", "plain");
    redirectError(authorize(p), "invalid_request");
    Map<String, String> q = appAuthorize();
    q.put("code_challenge", null);
    redirectError(authorize(q), "invalid_request");
  }

  @Test
  void authorize_redirectUriNotExact_errorPageNoRedirect() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("redirect_uri", TestSofa.APP_REDIRECT + "/extra");
    Browser.Authz a = authorize(p);
    assertThat(a.last.statusCode()).isEqualTo(400);
    assertThat(a.last.headers().firstValue("Location")).isEmpty();
  }

  @Test
  void authorize_unknownClient_errorPage() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("client_id", "nobody");
    assertThat(authorize(p).last.statusCode()).isEqualTo(400);
  }

  @Test
  void authorize_missingState_refused() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("state", null);
    redirectError(authorize(p), "invalid_request");
  }

  @Test
  void authorize_wrongAudience_refused() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("aud", "https://evil.example/fhir");
    redirectError(authorize(p), "invalid_request");
  }

  @Test
  void authorize_unknownLaunch_refused() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("launch", "not-a-launch");
    redirectError(authorize(p), "invalid_request");
  }

  @Test
  void authorize_launchSetForAnotherApp_accessDenied() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("client_id", "other-app");
    p.put("redirect_uri", "http://localhost:9/other/callback");
    p.put("scope", "launch patient/*.rs");
    redirectError(authorize(p), "access_denied");
  }

  @Test
  void authorize_otherUserThanContextOwner_accessDenied() throws Exception {
    browser = new Browser(); // no SSO session
    Browser.Authz a = browser.authorize(sofa.authorize(), appAuthorize(), "dr.roy", "password2");
    redirectError(a, "access_denied");
  }

  @Test
  void authorize_wrongPassword_showsFormAgainWithoutCode() throws Exception {
    browser = new Browser();
    Browser.Authz a = browser.authorize(sofa.authorize(), appAuthorize(), "dr.tremblay", "wrong");
    assertThat(a.last.statusCode()).isEqualTo(200);
    assertThat(a.last.body()).contains("id=\"error\"");
  }

  @Test
  void authorize_scopesNarrowedToAllowed() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("scope", "launch patient/*.rs user/*.cruds system/*.rs");
    HttpResponse<String> r = exchange(authorize(p), Map.of());
    assertThat(TestSofa.json(r.body()).get("scope").asText()).isEqualTo("launch patient/*.rs");
  }

  @Test
  void token_codeReplay_refusedAndFirstTokensRevoked() throws Exception {
    Browser.Authz a = authorize(appAuthorize());
    HttpResponse<String> first = exchange(a, Map.of());
    assertThat(first.statusCode()).isEqualTo(200);
    String at = TestSofa.json(first.body()).get("access_token").asText();
    assertThat(active(at)).isTrue();
    oauthError(exchange(a, Map.of()), 400, "invalid_grant");
    assertThat(active(at)).isFalse();
    String rt = TestSofa.json(first.body()).get("refresh_token").asText();
    oauthError(browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt, "client_id", "app"), null), 400, "invalid_grant");
  }

  @Test
  void token_wrongVerifier_refused() throws Exception {
    oauthError(exchange(authorize(appAuthorize()), Map.of("code_verifier", Browser.pkce()[0])), 400,
        "invalid_grant");
  }

  @Test
  void token_redirectUriMismatch_refused() throws Exception {
    oauthError(exchange(authorize(appAuthorize()), Map.of("redirect_uri", "http://localhost:9/app/other")),
        400, "invalid_grant");
  }

  @Test
  void token_codeExpired_refused() throws Exception {
    Browser.Authz a = authorize(appAuthorize());
    clock.advance(Duration.ofSeconds(61));
    oauthError(exchange(a, Map.of()), 400, "invalid_grant");
  }

  @Test
  void token_codeOfAnotherClient_refused() throws Exception {
    Browser.Authz a = authorize(appAuthorize());
    oauthError(exchange(a, Map.of("client_id", "other-app")), 400, "invalid_grant");
  }

  @Test
  void token_confidentialClientWrongSecret_invalidClient() throws Exception {
    HttpResponse<String> r = browser.postForm(sofa.token(), Map.of("grant_type", "client_credentials",
        "scope", "user/*.rs"), TestSofa.basic("emr", "wrong-secret-000000"));
    oauthError(r, 401, "invalid_client");
    assertThat(r.headers().firstValue("WWW-Authenticate")).isPresent();
  }

  @Test
  void refresh_rotatesAndReplayRevokesFamily() throws Exception {
    JsonNode t1 = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    String rt1 = t1.get("refresh_token").asText();
    HttpResponse<String> r2 = browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt1, "client_id", "app"), null);
    assertThat(r2.statusCode()).isEqualTo(200);
    JsonNode t2 = TestSofa.json(r2.body());
    String rt2 = t2.get("refresh_token").asText();
    assertThat(rt2).isNotEqualTo(rt1);
    assertThat(t2.get("patient").asText()).isEqualTo(t1.get("patient").asText());
    // replay of the rotated token: refused, and the whole family dies
    oauthError(browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt1, "client_id", "app"), null), 400, "invalid_grant");
    oauthError(browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt2, "client_id", "app"), null), 400, "invalid_grant");
    assertThat(active(t2.get("access_token").asText())).isFalse();
  }

  @Test
  void refresh_askingBeyondTheGrant_invalidScope_andTheRefreshTokenStillWorks() throws Exception {
    JsonNode t1 = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    String rt = t1.get("refresh_token").asText();
    String granted = t1.get("scope").asText();
    // RFC 6749 §6 / §5.2: a wider scope is refused, not narrowed in silence
    oauthError(browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token", "refresh_token", rt,
        "client_id", "app", "scope", granted + " system/*.cruds"), null), 400, "invalid_scope");
    // the refused request rotated nothing: the same refresh token works, with the same or fewer scopes
    HttpResponse<String> ok = browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt, "client_id", "app", "scope", granted), null);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(TestSofa.json(ok.body()).get("scope").asText()).isEqualTo(granted);
  }

  @Test
  void accessToken_expiry_honouredByIntrospectionAndResourceServer() throws Exception {
    JsonNode t = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    String at = t.get("access_token").asText();
    assertThat(active(at)).isTrue();
    clock.advance(Duration.ofMinutes(61));
    assertThat(active(at)).isFalse();
    HttpResponse<String> r = browser.http.send(java.net.http.HttpRequest.newBuilder(
        URI.create(sofa.fhirBase() + "/Patient/" + t.get("patient").asText()))
        .header("Authorization", "Bearer " + at).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(401);
  }

  @Test
  void revoke_accessToken_becomesInactive() throws Exception {
    JsonNode t = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    String at = t.get("access_token").asText();
    HttpResponse<String> r = browser.postForm(sofa.server.authorizationServer().revocationEndpoint(),
        Map.of("token", at, "client_id", "app"), null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(active(at)).isFalse();
  }

  @Test
  void introspect_publicClient_refused() throws Exception {
    HttpResponse<String> r = browser.postForm(sofa.server.authorizationServer().introspectionEndpoint(),
        Map.of("token", "x", "client_id", "app"), null);
    oauthError(r, 401, "invalid_client");
  }

  // ---- private_key_jwt (backend services)

  private String assertion(JWSAlgorithm alg, Object key, String aud, Date exp, String jti) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID("backend-1").build(),
        new JWTClaimsSet.Builder().issuer("backend").subject("backend").audience(aud)
            .expirationTime(exp).jwtID(jti).build());
    if (key instanceof com.nimbusds.jose.jwk.ECKey) {
      jwt.sign(new ECDSASigner((com.nimbusds.jose.jwk.ECKey) key));
    } else {
      jwt.sign(new RSASSASigner((com.nimbusds.jose.jwk.RSAKey) key));
    }
    return jwt.serialize();
  }

  private HttpResponse<String> backendToken(String assertion) throws Exception {
    return browser.postForm(sofa.token(), Map.of("grant_type", "client_credentials",
        "scope", "system/*.rs",
        "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion", assertion), null);
  }

  private Date inMinutes(int m) {
    return Date.from(clock.instant().plusSeconds(60L * m));
  }

  @Test
  void privateKeyJwt_valid_thenJtiReplayRefused() throws Exception {
    String a = assertion(JWSAlgorithm.ES384, sofa.backendKey, sofa.token().toString(), inMinutes(4),
        UUID.randomUUID().toString());
    HttpResponse<String> ok = backendToken(a);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(TestSofa.json(ok.body()).get("scope").asText()).isEqualTo("system/*.rs");
    oauthError(backendToken(a), 401, "invalid_client");
  }

  @Test
  void privateKeyJwt_wrongAudienceExpiredFarExpiryOrWrongKey_refused() throws Exception {
    oauthError(backendToken(assertion(JWSAlgorithm.ES384, sofa.backendKey, "https://elsewhere/token",
        inMinutes(4), UUID.randomUUID().toString())), 401, "invalid_client");
    oauthError(backendToken(assertion(JWSAlgorithm.ES384, sofa.backendKey, sofa.token().toString(),
        inMinutes(-1), UUID.randomUUID().toString())), 401, "invalid_client");
    oauthError(backendToken(assertion(JWSAlgorithm.ES384, sofa.backendKey, sofa.token().toString(),
        inMinutes(60), UUID.randomUUID().toString())), 401, "invalid_client");
    var stranger = new ECKeyGenerator(Curve.P_384).keyID("backend-1").generate();
    oauthError(backendToken(assertion(JWSAlgorithm.ES384, stranger, sofa.token().toString(),
        inMinutes(4), UUID.randomUUID().toString())), 401, "invalid_client");
    var rsa = new RSAKeyGenerator(2048).keyID("backend-1").generate();
    oauthError(backendToken(assertion(JWSAlgorithm.RS256, rsa, sofa.token().toString(),
        inMinutes(4), UUID.randomUUID().toString())), 401, "invalid_client");
  }
  // ---- item 5: forged revocation

  private HttpResponse<String> revoke(String token, String clientId) throws Exception {
    return browser.postForm(sofa.server.authorizationServer().revocationEndpoint(),
        Map.of("token", token, "client_id", clientId), null);
  }

  @Test
  void revoke_foreignOrUnsignedToken_hasNoEffect_item5() throws Exception {
    JsonNode t = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body());
    String at = t.get("access_token").asText();
    String rt = t.get("refresh_token").asText();
    String jti = SignedJWT.parse(at).getJWTClaimsSet().getJWTID();
    JWTClaimsSet forged = new JWTClaimsSet.Builder().issuer(sofa.server.authorizationServer().issuer().toString())
        .audience(sofa.fhirBase().toString()).jwtID(jti).claim("client_id", "other-app")
        .expirationTime(inMinutes(30)).build();
    // an unsigned JWT naming the victim's jti, from another (public) client
    assertThat(revoke(new PlainJWT(forged).serialize(), "other-app").statusCode()).isEqualTo(200);
    assertThat(active(at)).isTrue();
    // the same claims, claiming to be the victim's own client, signed with a stranger's key
    var stranger = new RSAKeyGenerator(2048).keyID("x").generate();
    SignedJWT selfSigned = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(
        SignedJWT.parse(at).getHeader().getKeyID()).build(),
        new JWTClaimsSet.Builder(forged).claim("client_id", "app").build());
    selfSigned.sign(new RSASSASigner(stranger));
    assertThat(revoke(selfSigned.serialize(), "app").statusCode()).isEqualTo(200);
    assertThat(active(at)).isTrue();
    // the genuine tokens, presented by a client they were not issued to (RFC 7009 section 2.1)
    assertThat(revoke(at, "other-app").statusCode()).isEqualTo(200);
    assertThat(revoke(rt, "other-app").statusCode()).isEqualTo(200);
    assertThat(active(at)).isTrue();
    HttpResponse<String> refreshed = browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", rt, "client_id", "app"), null);
    assertThat(refreshed.statusCode()).isEqualTo(200);
    // the owner still can
    String at2 = TestSofa.json(refreshed.body()).get("access_token").asText();
    assertThat(revoke(at2, "app").statusCode()).isEqualTo(200);
    assertThat(active(at2)).isFalse();
  }

  // ---- item 7: races

  /** Runs every call at once (a latch releases them together) and returns the answers. */
  private static <T> List<T> together(List<Callable<T>> calls) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(calls.size());
    try {
      CountDownLatch ready = new CountDownLatch(calls.size());
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (Callable<T> c : calls) {
        fs.add(pool.submit(() -> {
          ready.countDown();
          go.await();
          return c.call();
        }));
      }
      assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Sends the same form POST on {@code n} connections at once: every request is written but its
   * last byte, then the last bytes go out together, so the server handles them in parallel.
   * Returns the HTTP statuses.
   */
  private List<Integer> lastByteSync(URI uri, Map<String, String> form, int n) throws Exception {
    byte[] body = Browser.form(form).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] head = ("POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getRawAuthority()
        + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length
        + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    List<java.net.Socket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        java.net.Socket s = new java.net.Socket(uri.getHost(), uri.getPort());
        s.setTcpNoDelay(true);
        s.setSoTimeout(30_000);
        s.getOutputStream().write(head);
        s.getOutputStream().write(body, 0, body.length - 1);
        s.getOutputStream().flush();
        sockets.add(s);
      }
      List<Callable<Integer>> calls = new ArrayList<>();
      for (java.net.Socket s : sockets) {
        calls.add(() -> {
          s.getOutputStream().write(body, body.length - 1, 1);
          s.getOutputStream().flush();
          String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
              java.nio.charset.StandardCharsets.US_ASCII)).readLine();
          return Integer.parseInt(status.split(" ")[1]);
        });
      }
      return together(calls);
    } finally {
      for (java.net.Socket s : sockets) {
        s.close();
      }
    }
  }

  @Test
  void refresh_tenParallelWithOneToken_exactlyOneSucceeds_item7() throws Exception {
    for (int round = 0; round < 30; round++) {
      String rt = TestSofa.json(exchange(authorize(appAuthorize()), Map.of()).body())
          .get("refresh_token").asText();
      List<Integer> statuses = lastByteSync(sofa.token(), Map.of("grant_type", "refresh_token",
          "refresh_token", rt, "client_id", "app"), 10);
      assertThat(statuses.stream().filter(st -> st == 200).count())
          .as("round %d: %s", round, statuses).isEqualTo(1);
    }
  }

  @Test
  void token_oneCodeTwiceAtOnce_oneWinsAndItsTokensAreRevoked_item7() throws Exception {
    for (int round = 0; round < 30; round++) {
      Browser.Authz a = authorize(appAuthorize());
      List<Callable<HttpResponse<String>>> calls = List.of(() -> exchange(a, Map.of()),
          () -> exchange(a, Map.of()));
      List<HttpResponse<String>> rs = together(calls);
      List<HttpResponse<String>> won = rs.stream().filter(r -> r.statusCode() == 200).toList();
      assertThat(won).as("round %d", round).hasSize(1);
      JsonNode t = TestSofa.json(won.get(0).body());
      assertThat(active(t.get("access_token").asText())).as("round %d: winner's access token", round)
          .isFalse();
      oauthError(browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
          "refresh_token", t.get("refresh_token").asText(), "client_id", "app"), null), 400,
          "invalid_grant");
    }
  }

  // ---- item 9: login CSRF and password handling

  private static final Pattern INTERACTION = Pattern.compile("name=\"interaction\" value=\"([^\"]+)\"");

  /** Starts an EMR sign-in in {@code b} and returns the interaction id of the form shown. */
  private String startEmrSignIn(Browser b) throws Exception {
    String[] pkce = Browser.pkce();
    HttpResponse<String> r = b.get(URI.create(sofa.authorize() + "?" + Browser.form(Map.of(
        "response_type", "code", "client_id", "emr", "redirect_uri", TestSofa.EMR_REDIRECT.toString(),
        "aud", sofa.fhirBase().toString(), "scope", "openid user/*.rs", "state", "s-" + System.nanoTime(),
        "code_challenge", pkce[1], "code_challenge_method", "S256"))));
    assertThat(r.statusCode()).isEqualTo(200);
    Matcher m = INTERACTION.matcher(r.body());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  private HttpResponse<String> postSignIn(Browser b, String interaction, String user, String password,
      String origin) throws Exception {
    HttpRequest.Builder rb = HttpRequest.newBuilder(sofa.server.authorizationServer().signInEndpoint())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(Browser.form(Map.of("interaction", interaction,
            "username", user, "password", password))));
    if (origin != null) {
      rb.header("Origin", origin);
    }
    return b.http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static boolean gotCode(HttpResponse<String> r) {
    return r.statusCode() == 302 && Browser.query(Browser.location(r)).containsKey("code");
  }

  private static boolean setsSso(HttpResponse<String> r) {
    return r.headers().allValues("Set-Cookie").stream().anyMatch(c -> c.startsWith(SmartAuthorizationServer.SSO_COOKIE + "="));
  }

  @Test
  void signIn_fromAnotherBrowserOrForeignOrigin_refused_item9() throws Exception {
    Browser attacker = new Browser();
    String interaction = startEmrSignIn(attacker);
    // the victim's browser posts the attacker's credentials into the attacker's interaction
    Browser victim = new Browser();
    HttpResponse<String> r = postSignIn(victim, interaction, "dr.roy", "password2", "https://evil.example");
    assertThat(gotCode(r)).isFalse();
    assertThat(setsSso(r)).isFalse();
    r = postSignIn(victim, interaction, "dr.roy", "password2", null);
    assertThat(gotCode(r)).isFalse();
    assertThat(setsSso(r)).isFalse();
    // the right browser, but a cross-origin POST
    r = postSignIn(attacker, interaction, "dr.roy", "password2", "https://evil.example");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(gotCode(r)).isFalse();
    assertThat(setsSso(r)).isFalse();
    // the browser that started it, from the server's own origin: signed in
    URI issuer = sofa.server.authorizationServer().issuer();
    r = postSignIn(attacker, interaction, "dr.roy", "password2",
        issuer.getScheme() + "://" + issuer.getRawAuthority());
    assertThat(gotCode(r)).isTrue();
    assertThat(setsSso(r)).isTrue();
  }

  @Test
  void signIn_credentialsInQueryString_refused_item9() throws Exception {
    Browser b = new Browser();
    String interaction = startEmrSignIn(b);
    HttpResponse<String> r = b.get(URI.create(sofa.server.authorizationServer().signInEndpoint() + "?"
        + Browser.form(Map.of("interaction", interaction, "username", "dr.roy", "password", "password2"))));
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(gotCode(r)).isFalse();
    assertThat(setsSso(r)).isFalse();
    assertThat(gotCode(postSignIn(b, interaction, "dr.roy", "password2", null))).isTrue();
  }

  @Test
  void signIn_sixthAttemptInOneInteraction_refusedEvenWithRightPassword_item9() throws Exception {
    Browser b = new Browser();
    String interaction = startEmrSignIn(b);
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = postSignIn(b, interaction, "dr.roy", "wrong-" + i, null);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("id=\"error\"");
    }
    HttpResponse<String> sixth = postSignIn(b, interaction, "dr.roy", "password2", null);
    assertThat(gotCode(sixth)).isFalse();
    assertThat(setsSso(sixth)).isFalse();
  }

  @Test
  void signIn_tenFailuresForOneUser_lockedWithSamePageForUnknownUsers_item9() throws Exception {
    Browser b = new Browser();
    for (String user : List.of("dr.roy", "nobody.here")) {
      for (int i = 0; i < 10; i++) {
        String interaction = startEmrSignIn(b);
        assertThat(postSignIn(b, interaction, user, "wrong-" + i, null).statusCode()).isEqualTo(200);
      }
    }
    HttpResponse<String> locked = postSignIn(b, startEmrSignIn(b), "dr.roy", "password2", null);
    assertThat(locked.statusCode()).isEqualTo(429);
    assertThat(locked.body()).contains("Too many failed sign-ins");
    assertThat(gotCode(locked)).isFalse();
    HttpResponse<String> unknown = postSignIn(b, startEmrSignIn(b), "nobody.here", "anything", null);
    assertThat(unknown.statusCode()).isEqualTo(429);
    assertThat(unknown.body()).isEqualTo(locked.body());
    // another user is not affected, and the lock ends after its window
    Browser other = new Browser();
    assertThat(gotCode(postSignIn(other, startEmrSignIn(other), "dr.tremblay", "password", null))).isTrue();
    clock.advance(Duration.ofMinutes(16));
    assertThat(gotCode(postSignIn(b, startEmrSignIn(b), "dr.roy", "password2", null))).isTrue();
  }
  // ---- beyond the list: the same classes of defect

  @Test
  void privateKeyJwt_oneAssertionTenTimesAtOnce_exactlyOneAccepted() throws Exception {
    for (int round = 0; round < 30; round++) {
      String a = assertion(JWSAlgorithm.ES384, sofa.backendKey, sofa.token().toString(), inMinutes(4),
          UUID.randomUUID().toString());
      List<Integer> statuses = lastByteSync(sofa.token(), Map.of("grant_type", "client_credentials",
          "scope", "system/*.rs",
          "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          "client_assertion", a), 10);
      assertThat(statuses.stream().filter(st -> st == 200).count())
          .as("round %d: %s", round, statuses).isEqualTo(1);
    }
  }

  @Test
  void authorize_oversizedStateOrNonce_refusedBeforeAnythingIsStored() throws Exception {
    Map<String, String> p = appAuthorize();
    p.put("state", "s".repeat(100_000));
    Map<String, String> form = new HashMap<>(p);
    form.put("response_type", "code");
    form.put("code_challenge", Browser.pkce()[1]);
    form.put("code_challenge_method", "S256");
    HttpResponse<String> r = new Browser().postForm(sofa.authorize(), form, null);
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(Browser.query(Browser.location(r))).containsEntry("error", "invalid_request")
        .doesNotContainKey("code");
    form.put("state", "ok");
    form.put("nonce", "n".repeat(100_000));
    r = new Browser().postForm(sofa.authorize(), form, null);
    assertThat(Browser.query(Browser.location(r))).containsEntry("error", "invalid_request");
  }
}
