package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestClock;
import ca.halo.server.TestSofa;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.Test;

/**
 * A code's id_token is signed while the code travels (issue 18: the RSA signature was most of a
 * token call). What is issued must be exactly what the token call would have signed, but for
 * {@code iat}; anything stale, re-keyed, replayed or not ready is signed again at the token call.
 */
class IdTokenPresignTest {
  private static final Instant START = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  /** A SoFA, the EMR's launch, and the app's authorize (with a nonce) through a signed-in browser. */
  private static final class Flow implements AutoCloseable {
    final TestClock clock = new TestClock(START);
    final TestSofa sofa;
    final Browser browser = new Browser();
    final String launch;

    Flow(boolean presign) throws Exception {
      sofa = new TestSofa(b -> b.clock(clock).authorizationSettings(a -> a.presignIdTokens(presign)));
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
          .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
      launch = TestSofa.launchId(out);
    }

    Browser.Authz authorize(String scope) throws Exception {
      Map<String, String> p = new HashMap<>();
      p.put("client_id", "app");
      p.put("redirect_uri", TestSofa.APP_REDIRECT.toString());
      p.put("aud", sofa.fhirBase().toString());
      p.put("launch", launch);
      p.put("scope", scope);
      p.put("nonce", "n-0S6_WzA2Mj");
      Browser.Authz a = browser.authorize(sofa.authorize(), p, "dr.tremblay", "password");
      assertThat(a.callback()).containsKey("code");
      return a;
    }

    boolean signedAhead(Browser.Authz a) {
      return sofa.server.authorizationServer().idTokenSignedAhead(a.callback().get("code"));
    }

    /** Waits (real time) for the background signature; the test clock does not move meanwhile. */
    void awaitSignedAhead(Browser.Authz a) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!signedAhead(a) && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(signedAhead(a)).as("id_token signed ahead").isTrue();
    }

    HttpResponse<String> exchange(Browser.Authz a) throws Exception {
      return browser.postForm(sofa.token(), Map.of("grant_type", "authorization_code",
          "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
          "code_verifier", a.verifier, "client_id", "app"), null);
    }

    /** The id_token of a successful exchange, its RS256 signature checked against the JWKS. */
    SignedJWT idToken(HttpResponse<String> r) throws Exception {
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode body = TestSofa.json(r.body());
      SignedJWT id = SignedJWT.parse(body.get("id_token").asText());
      assertThat(id.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
      JWKSet jwks = JWKSet.parse(browser.get(sofa.server.authorizationServer().jwksUri()).body());
      RSAKey key = (RSAKey) jwks.getKeyByKeyId(id.getHeader().getKeyID());
      assertThat(id.verify(new RSASSAVerifier(key))).isTrue();
      return id;
    }

    @Override
    public void close() {
      sofa.close();
    }
  }

  /**
   * The claims but iat and exp, which depend on when the signature was made, with each server's
   * own loopback address made the same.
   */
  private static Map<String, Object> timeless(JWTClaimsSet c) {
    Map<String, Object> m = new HashMap<>();
    c.getClaims().forEach((k, v) -> m.put(k, v instanceof String s
        ? s.replaceAll("^http://127\\.0\\.0\\.1:\\d+/", "http://sofa/") : v));
    m.remove("iat");
    m.remove("exp");
    return m;
  }

  @Test
  void signedAhead_isTheIdTokenIssued_sameClaimsAsOneSignedAtTheTokenCall_iatOfTheCode() throws Exception {
    JWTClaimsSet ahead;
    try (Flow f = new Flow(true)) {
      Browser.Authz a = f.authorize("launch openid fhirUser patient/*.rs");
      f.awaitSignedAhead(a);
      f.clock.advance(Duration.ofSeconds(5));
      ahead = f.idToken(f.exchange(a)).getJWTClaimsSet();
      assertThat(ahead.getIssueTime().toInstant()).isEqualTo(START);
      assertThat(ahead.getExpirationTime().toInstant()).isEqualTo(START.plus(Duration.ofMinutes(10)));
      assertThat(f.signedAhead(a)).as("taken by its redemption").isFalse();
    }
    JWTClaimsSet atCall;
    try (Flow f = new Flow(false)) {
      Browser.Authz a = f.authorize("launch openid fhirUser patient/*.rs");
      Thread.sleep(50);
      assertThat(f.signedAhead(a)).isFalse();
      f.clock.advance(Duration.ofSeconds(5));
      atCall = f.idToken(f.exchange(a)).getJWTClaimsSet();
      assertThat(atCall.getIssueTime().toInstant()).isEqualTo(START.plusSeconds(5));
    }
    assertThat(ahead.getStringClaim("nonce")).isEqualTo("n-0S6_WzA2Mj");
    assertThat(ahead.getAudience()).containsExactly("app");
    assertThat(ahead.getStringClaim("fhirUser")).isNotBlank();
    assertThat(timeless(ahead)).isEqualTo(timeless(atCall));
  }

  @Test
  void signedAheadMoreThan30sBeforeTheTokenCall_isSignedAgain() throws Exception {
    try (Flow f = new Flow(true)) {
      Browser.Authz a = f.authorize("launch openid fhirUser patient/*.rs");
      f.awaitSignedAhead(a);
      f.clock.advance(Duration.ofSeconds(31)); // the code (60 s) still lives
      JWTClaimsSet c = f.idToken(f.exchange(a)).getJWTClaimsSet();
      assertThat(c.getIssueTime().toInstant()).isEqualTo(START.plusSeconds(31));
      assertThat(c.getStringClaim("nonce")).isEqualTo("n-0S6_WzA2Mj");
    }
  }

  @Test
  void withoutOpenid_nothingIsSignedAhead_andNoIdTokenIssued() throws Exception {
    try (Flow f = new Flow(true)) {
      Browser.Authz a = f.authorize("launch patient/*.rs");
      Thread.sleep(50);
      assertThat(f.signedAhead(a)).isFalse();
      HttpResponse<String> r = f.exchange(a);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(TestSofa.json(r.body()).has("id_token")).isFalse();
    }
  }

  @Test
  void aReplayedCode_getsNoIdToken_theFirstRedemptionTookIt() throws Exception {
    try (Flow f = new Flow(true)) {
      Browser.Authz a = f.authorize("launch openid fhirUser patient/*.rs");
      f.awaitSignedAhead(a);
      f.idToken(f.exchange(a));
      HttpResponse<String> again = f.exchange(a);
      assertThat(again.statusCode()).isEqualTo(400);
      assertThat(TestSofa.json(again.body()).get("error").asText()).isEqualTo("invalid_grant");
      assertThat(again.body()).doesNotContain("id_token").doesNotContain("access_token");
    }
  }

  @Test
  void aCodeRedeemedWithAWrongVerifier_dropsItsSignature() throws Exception {
    try (Flow f = new Flow(true)) {
      Browser.Authz a = f.authorize("launch openid fhirUser patient/*.rs");
      f.awaitSignedAhead(a);
      HttpResponse<String> r = f.browser.postForm(f.sofa.token(), Map.of("grant_type", "authorization_code",
          "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
          "code_verifier", "x".repeat(43), "client_id", "app"), null);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(r.body()).doesNotContain("id_token");
      assertThat(f.signedAhead(a)).isFalse();
    }
  }

  // ------------------------------------------------------------------ the presigner alone

  private static IdTokenPresigner.Signed signed(String kid, Instant at) {
    return new IdTokenPresigner.Signed("jwt-" + kid, kid, at);
  }

  private static final Instant CODE_EXPIRES = START.plusSeconds(60);

  private static void awaitSigned(IdTokenPresigner p, String key) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!p.signed(key) && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
    assertThat(p.signed(key)).isTrue();
  }

  @Test
  void presigner_keyThatNoLongerSigns_orFailedSignature_orUnknownCode_isEmpty_andEachIsTakenOnce() throws Exception {
    TestClock clock = new TestClock(START);
    IdTokenPresigner p = new IdTokenPresigner(clock, 10, 10, Duration.ofSeconds(30));
    p.offer("a", "u", CODE_EXPIRES, () -> signed("k1", START));
    awaitSigned(p, "a");
    assertThat(p.take("a", "k2")).isEmpty();
    assertThat(p.take("a", "k1")).as("taken once, whatever the answer").isEmpty();
    p.offer("b", "u", CODE_EXPIRES, () -> {
      throw new IllegalStateException("no key");
    });
    Thread.sleep(50);
    assertThat(p.take("b", "k1")).isEmpty();
    assertThat(p.take("never-offered", "k1")).isEmpty();
    p.offer("c", "u", CODE_EXPIRES, () -> signed("k1", START));
    awaitSigned(p, "c");
    assertThat(p.take("c", "k1")).contains("jwt-k1");
    assertThat(p.take("c", "k1")).as("once").isEmpty();
    assertThat(p.signed("c")).isFalse();
    p.offer("d", "u", CODE_EXPIRES, () -> signed("k1", START));
    awaitSigned(p, "d");
    p.forget("d");
    assertThat(p.take("d", "k1")).as("forgotten").isEmpty();
    assertThat(p.size()).isZero();
  }

  /** Blocks the one signing thread until released; counts the signatures made. */
  private static final class Gate {
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger signatures = new AtomicInteger();

    java.util.function.Supplier<IdTokenPresigner.Signed> blocking() {
      return () -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        signatures.incrementAndGet();
        return signed("k1", START);
      };
    }

    java.util.function.Supplier<IdTokenPresigner.Signed> counting() {
      return () -> {
        signatures.incrementAndGet();
        return signed("k1", START);
      };
    }
  }

  @Test
  void presigner_bounded_fullTableOrQueue_signsNothingMore_andTheTokenCallSignsItself() throws Exception {
    TestClock clock = new TestClock(START);
    IdTokenPresigner p = new IdTokenPresigner(clock, 100, 1000, Duration.ofSeconds(30));
    Gate gate = new Gate();
    // the one thread blocks on the first; 64 queue behind it; the rest are dropped
    for (int i = 0; i < 100; i++) {
      p.offer("k" + i, "u" + i, CODE_EXPIRES, gate.blocking());
    }
    p.offer("over", "someone", CODE_EXPIRES, gate.counting());
    assertThat(p.size()).as("the table holds at most its capacity").isEqualTo(100);
    assertThat(p.take("over", "k1")).isEmpty();
    // a dropped one and a queued one are the token call's to sign: taken at once, never signed later
    long t0 = System.nanoTime();
    assertThat(p.take("k99", "k1")).isEmpty();
    assertThat(p.take("k50", "k1")).isEmpty();
    p.forget("k40"); // a refused redemption: its queued signature is not made either
    assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.MILLISECONDS.toNanos(40));
    gate.release.countDown();
    awaitSigned(p, "k1");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!p.signed("k64") && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    Thread.sleep(50);
    assertThat(gate.signatures.get()).as("the first, and 62 of the 64 queued (one taken, one forgotten)")
        .isEqualTo(63);
  }

  @Test
  void presigner_aUserSigningInAgainAndAgain_hasAtMost16Waiting_for30s_andRefusedOnesAreNotSigned() throws Exception {
    TestClock clock = new TestClock(START);
    IdTokenPresigner p = new IdTokenPresigner(clock, 1000, 16, Duration.ofSeconds(30));
    Gate gate = new Gate();
    p.offer("blocker", "bob", CODE_EXPIRES, gate.blocking());
    for (int i = 0; i < 40; i++) {
      p.offer("m" + i, "mallory", CODE_EXPIRES, gate.counting()); // codes never redeemed
    }
    assertThat(p.size()).as("bob's, and 16 of mallory's").isEqualTo(17);
    p.offer("a", "alice", CODE_EXPIRES, gate.counting());
    for (int i = 0; i < 40; i++) {
      p.offer("r" + i, "rita", CODE_EXPIRES, gate.counting());
      p.forget("r" + i); // refused at the token call before the signing thread got to it
    }
    gate.release.countDown();
    awaitSigned(p, "a");
    assertThat(p.take("a", "k1")).as("another user is not held back").contains("jwt-k1");
    Thread.sleep(50);
    assertThat(gate.signatures.get()).as("bob's, mallory's 16 and alice's; none of rita's").isEqualTo(18);
    clock.advance(Duration.ofSeconds(31));
    assertThat(p.size()).as("mallory's wait 30 s at most").isZero();
    p.offer("m-later", "mallory", START.plusSeconds(91), gate.counting());
    awaitSigned(p, "m-later");
    // a user redeeming each code at once is never held back
    for (int i = 0; i < 40; i++) {
      p.offer("c" + i, "carol", START.plusSeconds(91), () -> signed("k1", clock.instant()));
      awaitSigned(p, "c" + i);
      assertThat(p.take("c" + i, "k1")).contains("jwt-k1");
    }
  }

  @Test
  void presigner_entriesExpireWithTheirCode_orAfterMaxAge() throws Exception {
    TestClock clock = new TestClock(START);
    IdTokenPresigner p = new IdTokenPresigner(clock, 10, 10, Duration.ofSeconds(30));
    p.offer("a", "u", START.plusSeconds(10), () -> signed("k1", START));
    p.offer("b", "u", CODE_EXPIRES, () -> signed("k1", START));
    awaitSigned(p, "a");
    awaitSigned(p, "b");
    clock.advance(Duration.ofSeconds(11));
    assertThat(p.take("a", "k1")).as("its code expired").isEmpty();
    assertThat(p.size()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(20));
    assertThat(p.take("b", "k1")).as("older than 30 s").isEmpty();
    assertThat(p.size()).isZero();
  }

  @Test
  void presigner_aSignatureFromTheFuture_isNotUsed() throws Exception {
    Clock fixed = Clock.fixed(START, java.time.ZoneOffset.UTC);
    IdTokenPresigner p = new IdTokenPresigner(fixed, 10, 10, Duration.ofSeconds(30));
    p.offer("a", "u", CODE_EXPIRES, () -> signed("k1", START.plusSeconds(1)));
    awaitSigned(p, "a");
    assertThat(p.take("a", "k1")).isEmpty();
  }
}
