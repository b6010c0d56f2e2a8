package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.server.TestClock;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.AuthorizationGrant;
import ca.halo.server.authz.AuthorizationStateStore;
import ca.halo.server.authz.AuthorizationStateStore.Admission;
import ca.halo.server.authz.AuthorizationStateStore.CodeRedemption;
import ca.halo.server.authz.AuthorizationStateStore.RefreshRotation;
import ca.halo.server.authz.AuthorizationStateStoreContract;
import ca.halo.server.authz.PendingSignIn;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The authorization state contract on PostgreSQL (half of each concurrent test on a second
 * node), and what only a shared store must show: two nodes act as one, state survives a
 * restart, secrets are not stored in clear, counters stay exact.
 */
class PostgresAuthorizationStateStoreTest extends AuthorizationStateStoreContract {
  private static final AuthenticatedUser USER = new AuthenticatedUser("dr.a", "Practitioner/1", "Dr A");
  private final List<SharedDatabase> databases = new ArrayList<>();
  private final Map<AuthorizationStateStore, SharedDatabase> databaseOf = new IdentityHashMap<>();
  private final Map<AuthorizationStateStore, Integer> capacityOf = new IdentityHashMap<>();

  @Override
  protected AuthorizationStateStore newStore(TestClock clock, int capacity) {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    return store(db, clock, capacity);
  }

  private AuthorizationStateStore store(SharedDatabase db, TestClock clock, int capacity) {
    AuthorizationStateStore s = PostgresAuthorizationStateStore.builder(db.node()).clock(clock)
        .capacity(capacity).maxPerOwner(2).build();
    databaseOf.put(s, db);
    capacityOf.put(s, capacity);
    return s;
  }

  @Override
  protected AuthorizationStateStore otherNode(AuthorizationStateStore store) {
    return store(databaseOf.get(store), clock, capacityOf.get(store));
  }

  @AfterEach
  void closeDatabases() {
    databases.forEach(SharedDatabase::close);
  }

  private Instant in(Duration d) {
    return clock.instant().plus(d);
  }

  private static AuthorizationGrant grant(AuthenticatedUser user) {
    return AuthorizationGrant.builder("app", SmartScopes.parse("openid offline_access launch"), user)
        .redirectUri(URI.create("http://localhost/cb")).codeChallenge("c".repeat(43))
        .sessionId("session-1").nonce("n-1").build();
  }

  /** Runs {@code a} and {@code b} at the same moment on two threads; returns both answers. */
  private static <T> List<T> atOnce(Callable<T> a, Callable<T> b) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (Callable<T> c : List.of(a, b)) {
        fs.add(pool.submit(() -> {
          go.await();
          return c.call();
        }));
      }
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

  @Test
  void twoNodes_codeRedeemedOnBothAtOnce_exactlyOneWinsAndTheGrantEnds() throws Exception {
    AuthorizationStateStore a = newStore(clock, 1_000);
    AuthorizationStateStore b = otherNode(a);
    for (int round = 0; round < 25; round++) {
      String code = "code-" + round;
      AuthenticatedUser user = new AuthenticatedUser("u" + round, null, null);
      assertThat(a.putCode(code, grant(user), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
      String ga = "ga-" + round;
      String gb = "gb-" + round;

      List<CodeRedemption> rs = atOnce(
          () -> a.redeemCode(code, ga, Optional.of("h"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10))),
          () -> b.redeemCode(code, gb, Optional.of("h"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10))));

      assertThat(rs).extracting(CodeRedemption::status).as("round %s", round)
          .containsExactlyInAnyOrder(CodeRedemption.Status.REDEEMED, CodeRedemption.Status.REPLAYED);
      assertThat(a.grantActive(ga) || b.grantActive(gb)).as("the replay ended the grant").isFalse();
    }
  }

  @Test
  void twoNodes_refreshRotatedOnBothAtOnce_exactlyOneRotates() throws Exception {
    AuthorizationStateStore a = newStore(clock, 1_000);
    AuthorizationStateStore b = otherNode(a);
    for (int round = 0; round < 25; round++) {
      String g = "g" + round;
      AuthenticatedUser user = new AuthenticatedUser("u" + round, null, null);
      a.putCode("c" + round, grant(user), in(Duration.ofMinutes(1)));
      assertThat(b.redeemCode("c" + round, g, Optional.of("h0"), in(Duration.ofHours(8)),
          in(Duration.ofMinutes(10))).status()).isEqualTo(CodeRedemption.Status.REDEEMED);

      List<RefreshRotation> rs = atOnce(
          () -> a.rotateRefresh(g, "app", "h0", "h1-a", in(Duration.ofHours(8))),
          () -> b.rotateRefresh(g, "app", "h0", "h1-b", in(Duration.ofHours(8))));

      assertThat(rs).extracting(RefreshRotation::status).as("round %s", round)
          .containsExactlyInAnyOrder(RefreshRotation.Status.ROTATED, RefreshRotation.Status.REPLAYED);
      assertThat(a.grantActive(g)).isFalse();
    }
  }

  @Test
  void twoNodes_jtiRecordedOnBothAtOnce_oneAccepted() throws Exception {
    AuthorizationStateStore a = newStore(clock, 1_000);
    AuthorizationStateStore b = otherNode(a);
    for (int round = 0; round < 25; round++) {
      String jti = "jti-" + round;
      String client = "backend-" + round;

      List<Admission> rs = atOnce(
          () -> a.recordAssertionJti(client, jti, in(Duration.ofMinutes(5))),
          () -> b.recordAssertionJti(client, jti, in(Duration.ofMinutes(5))));

      assertThat(rs).as("round %s", round).containsExactlyInAnyOrder(Admission.ACCEPTED, Admission.REPLAYED);
    }
  }

  @Test
  void twoNodes_signInStartedOnOne_finishedOnTheOther() {
    AuthorizationStateStore a = newStore(clock, 100);
    AuthorizationStateStore b = otherNode(a);
    PendingSignIn p = PendingSignIn.builder("app", URI.create("http://localhost/cb"), "st",
        "c".repeat(43), SmartScopes.parse("openid launch")).nonce("n").sessionId("s")
        .clientName("Growth Chart").browserBinding("bind").remoteAddress("198.51.100.7").build();
    assertThat(a.beginSignIn("i", p, in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);

    assertThat(b.countSignInAttempt("i", 5)).contains(p.withAttempt());
    assertThat(a.finishSignIn("i")).contains(p.withAttempt());
    assertThat(b.finishSignIn("i")).isEmpty();
  }

  @Test
  void restart_newPoolOnTheSameDatabase_stateStillThere() {
    AuthorizationStateStore before = newStore(clock, 100);
    SharedDatabase db = databaseOf.get(before);
    before.putCode("c", grant(USER), in(Duration.ofMinutes(1)));
    before.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    before.revoke("g.t1", "app", in(Duration.ofHours(1)));
    before.putSsoSession("sso", USER, in(Duration.ofHours(8)));
    db.close(); // every node goes down

    AuthorizationStateStore after = PostgresAuthorizationStateStore.builder(db.node()).clock(clock)
        .capacity(100).maxPerOwner(2).build();

    assertThat(after.grantActive("g")).isTrue();
    assertThat(after.isRevoked("g.t1")).isTrue();
    assertThat(after.ssoSession("sso")).contains(USER);
    assertThat(after.redeemCode("c", "g2", Optional.empty(), in(Duration.ofHours(8)),
        in(Duration.ofMinutes(10))).status()).isEqualTo(CodeRedemption.Status.REPLAYED);
    assertThat(after.grantActive("g")).isFalse();
  }

  @Test
  void secrets_codeSignInAndSsoIds_neverStoredInClear() {
    AuthorizationStateStore s = newStore(clock, 100);
    SharedDatabase db = databaseOf.get(s);
    String code = "CODE-secret-0123456789";
    String interaction = "SIGNIN-secret-0123456789";
    String ssoId = "SSO-secret-0123456789";
    String account = "typed-user-name";
    s.putCode(code, grant(USER), in(Duration.ofMinutes(1)));
    s.beginSignIn(interaction, PendingSignIn.builder("app", URI.create("http://localhost/cb"), "st",
        "c".repeat(43), SmartScopes.parse("openid")).browserBinding("b").remoteAddress("198.51.100.1")
        .build(), in(Duration.ofMinutes(5)));
    s.putSsoSession(ssoId, USER, in(Duration.ofHours(8)));
    s.countAccountAttempt(account, "198.51.100.1", 5, in(Duration.ofMinutes(15)));

    for (String table : PostgresAuthorizationStateStore.tables().keySet()) {
      for (String secret : List.of(code, interaction, ssoId, account)) {
        assertThat(db.count("SELECT count(*) FROM " + table + " t WHERE t::text LIKE '%" + secret + "%'"))
            .as("%s in %s", secret, table).isZero();
      }
    }
    assertThat(s.signIn(interaction)).isPresent();
    assertThat(s.ssoSession(ssoId)).contains(USER);
  }

  @Test
  void beginSignIn_stateWithNulCharacter_keptAndReturnedIntact() {
    AuthorizationStateStore s = newStore(clock, 100);
    PendingSignIn p = PendingSignIn.builder("app", URI.create("http://localhost/cb"), "a\u0000b",
        "c".repeat(43), SmartScopes.parse("openid")).nonce("\uE000odd").browserBinding("b")
        .remoteAddress("198.51.100.1").build();

    assertThat(s.beginSignIn("i", p, in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);

    assertThat(s.signIn("i")).contains(p);
    assertThat(s.signIn("i").orElseThrow().state()).isEqualTo("a\u0000b");
  }

  @Test
  void redeemCode_grantRoundTrip_everyFieldKept() {
    AuthorizationStateStore s = newStore(clock, 100);
    AuthorizationGrant g = grant(USER);
    s.putCode("c", g, in(Duration.ofMinutes(1)));

    AuthorizationGrant back = s.redeemCode("c", "g", Optional.empty(), in(Duration.ofHours(1)),
        in(Duration.ofMinutes(10))).grant().orElseThrow();

    assertThat(back).isEqualTo(g);
    assertThat(back.user().displayName()).isEqualTo("Dr A");
    assertThat(back.nonce()).contains("n-1");
    assertThat(back.scopes()).isEqualTo(g.scopes());
  }

  @Test
  void counters_afterConcurrentWritesAndDeletes_equalTheRows() throws Exception {
    AuthorizationStateStore a = newStore(clock, 1_000);
    AuthorizationStateStore b = otherNode(a);
    SharedDatabase db = databaseOf.get(a);
    atOnce(() -> {
      for (int i = 0; i < 40; i++) {
        a.recordAssertionJti("c" + (i % 5), "a" + i, in(Duration.ofMinutes(1)));
        a.putSsoSession("sa" + i, new AuthenticatedUser("u" + (i % 7), null, null), in(Duration.ofHours(1)));
        a.countAccountAttempt("acct" + (i % 3), "198.51.100.1", 100, in(Duration.ofMinutes(15)));
      }
      return null;
    }, () -> {
      for (int i = 0; i < 40; i++) {
        b.recordAssertionJti("c" + (i % 5), "b" + i, in(Duration.ofMinutes(1)));
        b.removeSsoSession("sa" + i);
        b.countAccountAttempt("acct" + (i % 3), "198.51.100.1", 100, in(Duration.ofMinutes(15)));
      }
      return null;
    });
    clock.advance(Duration.ofMinutes(1));
    // a full share makes the store delete the expired rows in the way, then write
    assertThat(a.recordAssertionJti("c0", "late", in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);

    for (String table : PostgresAuthorizationStateStore.tables().keySet()) {
      assertThat(db.countersExact(table)).as(table).isTrue();
    }
  }
}
