package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.server.TestClock;
import ca.halo.server.authz.AuthorizationStateStore.Admission;
import ca.halo.server.authz.AuthorizationStateStore.CodeRedemption;
import ca.halo.server.authz.AuthorizationStateStore.RefreshRotation;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What every {@link AuthorizationStateStore} must do: each method atomic, bounded storage that
 * fails closed. A shared (database) implementation extends this class with its own factory, in
 * any package (this class ships in the {@code halo-server-spi} test-jar):
 *
 * <pre>{@code
 * class MyStoreTest extends AuthorizationStateStoreContract {
 *   protected AuthorizationStateStore newStore(TestClock clock, int capacity) {
 *     return MyStore.builder().clock(clock).capacity(capacity).maxPerOwner(2).build();
 *   }
 * }
 * }</pre>
 *
 * <p>The concurrency tests run half their threads on {@link #otherNode} of the store: a store
 * shared by several nodes returns a second instance over the same shared state there.
 */
public abstract class AuthorizationStateStoreContract {
  protected final TestClock clock = new TestClock(Instant.parse("2026-01-01T08:00:00Z"));

  /** A store on {@code clock} whose tables hold {@code capacity} entries, a user/client 2 each. */
  protected abstract AuthorizationStateStore newStore(TestClock clock, int capacity);

  /**
   * The same state as seen from another node: for a shared store, a second instance (its own
   * connections) over what {@code store} holds. By default {@code store} itself.
   */
  protected AuthorizationStateStore otherNode(AuthorizationStateStore store) {
    return store;
  }

  /** Thread {@code i} of a concurrent test runs on node {@code i % 2}. */
  private AuthorizationStateStore[] nodes(AuthorizationStateStore s) {
    return new AuthorizationStateStore[] {s, otherNode(s)};
  }

  /** A call that may throw, given its thread's index. */
  @FunctionalInterface
  private interface Call<T> {
    T call(int thread) throws Exception;
  }

  private static final AuthenticatedUser USER = new AuthenticatedUser("dr.a", "Practitioner/1", "Dr A");

  private static AuthorizationGrant grant(String client, AuthenticatedUser user) {
    return AuthorizationGrant.builder(client, SmartScopes.parse("openid offline_access"), user)
        .redirectUri(URI.create("http://localhost/cb")).codeChallenge("c".repeat(43)).build();
  }

  private Instant in(Duration d) {
    return clock.instant().plus(d);
  }

  private static <T> List<T> together(int n, Call<T> call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int thread = i;
        Callable<T> c = () -> {
          go.await();
          return call.call(thread);
        };
        fs.add(pool.submit(c));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(10, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  public void redeemCode_concurrent_exactlyOneRedeemsAndTheReplayEndsItsGrant() throws Exception {
    AuthorizationStateStore s = newStore(clock, 100);
    AuthorizationStateStore[] nodes = nodes(s);
    for (int r0 = 0; r0 < 20; r0++) {
      int round = r0;
      String code = "code-" + round;
      AuthenticatedUser user = new AuthenticatedUser("user-" + round, null, null); // a user's share is 2
      assertThat(s.putCode(code, grant("app", user), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
      String[] grantIds = new String[8];
      int[] next = {0};
      List<CodeRedemption> rs = together(8, t -> {
        String g;
        synchronized (grantIds) {
          g = "g-" + round + "-" + next[0];
          grantIds[next[0]++] = g;
        }
        return nodes[t % 2].redeemCode(code, g, Optional.of("h"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
      });
      assertThat(rs.stream().filter(r -> r.status() == CodeRedemption.Status.REDEEMED).count()).isEqualTo(1);
      assertThat(rs.stream().filter(r -> r.status() == CodeRedemption.Status.REPLAYED).count()).isEqualTo(7);
      for (String g : grantIds) {
        assertThat(s.grantActive(g)).as("grant %s after a replay", g).isFalse();
      }
      s.endGrant("unused"); // no effect, no error
    }
  }

  @Test
  public void redeemCode_grantTableFull_fullAndCodeStaysFresh() {
    AuthorizationStateStore s = newStore(clock, 100);
    AuthenticatedUser[] users = new AuthenticatedUser[3];
    for (int i = 0; i < 3; i++) {
      users[i] = new AuthenticatedUser("u" + i, null, null);
      assertThat(s.putCode("c" + i, grant("app", users[i]), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
    }
    assertThat(s.redeemCode("c0", "g0", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.REDEEMED);
    assertThat(s.redeemCode("c1", "g1", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.REDEEMED);
    // the user's share (2) of the grants is taken: refused, and the code can be redeemed later
    assertThat(s.putCode("c0b", grant("app", users[0]), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
    assertThat(s.putCode("c0c", grant("app", users[0]), in(Duration.ofMinutes(1)))).isEqualTo(Admission.LIMITED);
    s.endGrant("g0");
    assertThat(s.redeemCode("c0b", "g0b", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.REDEEMED);
  }

  @Test
  public void rotateRefresh_concurrent_exactlyOneRotatesOldTokenThenReplayEndsGrant() throws Exception {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    AuthorizationStateStore[] nodes = nodes(s);
    int[] n = {0};
    List<RefreshRotation> rs = together(10, t -> {
      String fresh;
      synchronized (n) {
        fresh = "h1-" + n[0]++;
      }
      return nodes[t % 2].rotateRefresh("g", "app", "h0", fresh, in(Duration.ofHours(8)));
    });
    assertThat(rs.stream().filter(r -> r.status() == RefreshRotation.Status.ROTATED).count()).isEqualTo(1);
    assertThat(s.grantActive("g")).isFalse(); // the losers presented a rotated token: a replay
    assertThat(s.rotateRefresh("g", "app", "h0", "x", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.UNKNOWN);
  }

  @Test
  public void rotateRefresh_otherClientOrUnknownHash_changesNothing() {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    assertThat(s.rotateRefresh("g", "other", "h0", "h1", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.UNKNOWN);
    assertThat(s.rotateRefresh("g", "app", "forged", "h1", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.UNKNOWN);
    assertThat(s.revokeRefresh("g", "other", "h0")).isFalse();
    assertThat(s.grantActive("g")).isTrue();
    assertThat(s.rotateRefresh("g", "app", "h0", "h1", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.ROTATED);
    assertThat(s.revokeRefresh("g", "app", "h0")).isTrue(); // a prior token still names the grant
    assertThat(s.grantActive("g")).isFalse();
  }

  @Test
  public void grant_readOnly_forItsClientOnly_untilItEnds() {
    AuthorizationStateStore s = newStore(clock, 100);
    assertThat(s.grant("g", "app")).isEmpty();
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    assertThat(s.grant("g", "app")).hasValueSatisfying(g ->
        assertThat(g.scopes()).isEqualTo(SmartScopes.parse("openid offline_access")));
    assertThat(s.grant("g", "other")).as("another client's grant").isEmpty();
    // reading changed nothing: the refresh token still rotates
    assertThat(s.rotateRefresh("g", "app", "h0", "h1", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.ROTATED);
    s.endGrant("g");
    assertThat(s.grant("g", "app")).isEmpty();
    assertThat(s.grant("g\u0000", "app")).as("a key no store can hold").isEmpty();
  }

  @Test
  public void tokenLive_notRevokedAndGrantActive() {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    assertThat(s.tokenLive("g.1", "g")).isTrue();
    assertThat(s.tokenLive("cc.1", null)).as("a token without a grant").isTrue();
    assertThat(s.tokenLive("x.1", "unknown")).isFalse();
    s.revoke("g.1", "app", in(Duration.ofHours(1)));
    assertThat(s.tokenLive("g.1", "g")).isFalse();
    assertThat(s.tokenLive("g.2", "g")).isTrue();
    s.endGrant("g");
    assertThat(s.tokenLive("g.2", "g")).isFalse();
    s.revoke("cc.1", "backend", in(Duration.ofHours(1)));
    assertThat(s.tokenLive("cc.1", null)).isFalse();
  }

  @Test
  public void recordAssertionJti_concurrentCheckAndInsert_exactlyOneAccepted_fullNeverAccepts() throws Exception {
    AuthorizationStateStore s = newStore(clock, 100);
    AuthorizationStateStore[] nodes = nodes(s);
    List<Admission> rs = together(10, t -> nodes[t % 2].recordAssertionJti("backend", "j1", in(Duration.ofMinutes(5))));
    assertThat(rs.stream().filter(a -> a == Admission.ACCEPTED).count()).isEqualTo(1);
    assertThat(rs.stream().filter(a -> a == Admission.REPLAYED).count()).isEqualTo(9);
    assertThat(s.recordAssertionJti("backend", "j2", in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);
    assertThat(s.recordAssertionJti("backend", "j3", in(Duration.ofMinutes(5)))).isEqualTo(Admission.LIMITED);
    assertThat(s.recordAssertionJti("backend", "j3", in(Duration.ofMinutes(5)))).isEqualTo(Admission.LIMITED);
    assertThat(s.recordAssertionJti("other", "j3", in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);
    clock.advance(Duration.ofMinutes(5));
    assertThat(s.recordAssertionJti("backend", "j3", in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);
  }

  @Test
  public void revoke_whenItCannotBeRecorded_false() {
    AuthorizationStateStore s = newStore(clock, 100);
    assertThat(s.revoke("a", "c", in(Duration.ofHours(1)))).isTrue();
    assertThat(s.revoke("a", "c", in(Duration.ofHours(1)))).isTrue();
    assertThat(s.revoke("b", "c", in(Duration.ofHours(1)))).isTrue();
    assertThat(s.revoke("d", "c", in(Duration.ofHours(1)))).isFalse();
    assertThat(s.isRevoked("a")).isTrue();
    assertThat(s.isRevoked("d")).isFalse();
    clock.advance(Duration.ofHours(1));
    assertThat(s.isRevoked("a")).isFalse();
    assertThat(s.revoke("d", "c", in(Duration.ofHours(1)))).isTrue();
  }

  @Test
  public void signIns_attemptsCountedAtomically_beyondMaxTheSignInEnds() throws Exception {
    AuthorizationStateStore s = newStore(clock, 100);
    PendingSignIn p = PendingSignIn.builder("app", URI.create("http://localhost/cb"), "st",
        "c".repeat(43), SmartScopes.parse("openid")).browserBinding("b").remoteAddress("198.51.100.1").build();
    assertThat(s.beginSignIn("i", p, in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);
    AuthorizationStateStore[] nodes = nodes(s);
    List<Optional<PendingSignIn>> rs = together(8, t -> nodes[t % 2].countSignInAttempt("i", 5));
    assertThat(rs.stream().filter(Optional::isPresent).count()).isEqualTo(5);
    assertThat(rs.stream().flatMap(Optional::stream).map(PendingSignIn::attempts))
        .containsExactlyInAnyOrder(1, 2, 3, 4, 5);
    assertThat(s.signIn("i")).isEmpty();
    assertThat(s.beginSignIn("j", p, in(Duration.ofMinutes(5)))).isEqualTo(Admission.ACCEPTED);
    assertThat(together(4, t -> nodes[t % 2].finishSignIn("j")).stream().filter(Optional::isPresent).count())
        .isEqualTo(1);
  }

  @Test
  public void countAccountAttempt_limitInWindow_thenWindowEnds() {
    AuthorizationStateStore s = newStore(clock, 100);
    for (int i = 0; i < 3; i++) {
      assertThat(s.countAccountAttempt("dr.a", "198.51.100.1", 3, in(Duration.ofMinutes(15))))
          .isEqualTo(Admission.ACCEPTED);
    }
    assertThat(s.countAccountAttempt("dr.a", "198.51.100.1", 3, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.LIMITED);
    clock.advance(Duration.ofMinutes(15));
    assertThat(s.countAccountAttempt("dr.a", "198.51.100.1", 3, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.ACCEPTED);
    s.clearAccountAttempts("dr.a");
  }

  private static PendingSignIn signIn(String client, String address) {
    return PendingSignIn.builder(client, URI.create("http://localhost/cb"), "st", "c".repeat(43),
        SmartScopes.parse("openid")).browserBinding("b").remoteAddress(address).build();
  }

  @Test
  public void beginSignIn_tableFullOfLiveSignIns_fullUntilTheyExpire() {
    AuthorizationStateStore s = newStore(clock, 100);
    // a client may hold half the table: two clients fill it
    for (int i = 0; i < 100; i++) {
      assertThat(s.beginSignIn("i" + i, signIn(i < 50 ? "a" : "b", "198.51.100." + i),
          in(Duration.ofMinutes(5)))).as("sign-in %s", i).isEqualTo(Admission.ACCEPTED);
      if (i == 49) {
        assertThat(s.beginSignIn("a50", signIn("a", "203.0.113.1"), in(Duration.ofMinutes(5))))
            .isEqualTo(Admission.LIMITED);
      }
    }
    assertThat(s.beginSignIn("c0", signIn("c", "203.0.113.1"), in(Duration.ofMinutes(5))))
        .isEqualTo(Admission.FULL);
    assertThat(s.signIn("i0")).isPresent();
    clock.advance(Duration.ofMinutes(5));
    assertThat(s.signIn("i0")).isEmpty();
    assertThat(s.beginSignIn("c0", signIn("c", "203.0.113.1"), in(Duration.ofMinutes(5))))
        .isEqualTo(Admission.ACCEPTED);
    assertThat(s.signIn("c0")).contains(signIn("c", "203.0.113.1"));
  }

  @Test
  public void countSignInAttempt_unknownOrExpired_emptyAndNothingCounted() {
    AuthorizationStateStore s = newStore(clock, 100);
    assertThat(s.countSignInAttempt("nobody", 5)).isEmpty();
    assertThat(s.beginSignIn("i", signIn("app", "198.51.100.1"), in(Duration.ofMinutes(5))))
        .isEqualTo(Admission.ACCEPTED);
    assertThat(s.countSignInAttempt("i", 5)).map(PendingSignIn::attempts).contains(1);
    assertThat(s.signIn("i")).map(PendingSignIn::attempts).contains(1);
    clock.advance(Duration.ofMinutes(5));
    assertThat(s.countSignInAttempt("i", 5)).isEmpty();
    assertThat(s.finishSignIn("i")).isEmpty();
  }

  @Test
  public void ssoSession_putFindRemove_untilItsEnd() {
    AuthorizationStateStore s = newStore(clock, 100);
    AuthenticatedUser user = new AuthenticatedUser("dr.b", "Practitioner/2", "Dr B");
    assertThat(s.putSsoSession("sso1", user, in(Duration.ofHours(8)))).isTrue();
    assertThat(s.putSsoSession("sso1", user, in(Duration.ofHours(8)))).isFalse();
    assertThat(s.ssoSession("sso1")).contains(user);
    assertThat(s.ssoSession("sso1").map(AuthenticatedUser::displayName)).contains("Dr B");
    s.removeSsoSession("sso1");
    assertThat(s.ssoSession("sso1")).isEmpty();
    assertThat(s.putSsoSession("sso2", user, in(Duration.ofHours(8)))).isTrue();
    clock.advance(Duration.ofHours(8));
    assertThat(s.ssoSession("sso2")).isEmpty();
    s.removeSsoSession("never-there"); // no effect, no error
  }

  @Test
  public void putSsoSession_userHoldsItsShare_falseUntilOneEnds() {
    AuthorizationStateStore s = newStore(clock, 100);
    assertThat(s.putSsoSession("s1", USER, in(Duration.ofHours(8)))).isTrue();
    assertThat(s.putSsoSession("s2", USER, in(Duration.ofHours(8)))).isTrue();
    assertThat(s.putSsoSession("s3", USER, in(Duration.ofHours(8)))).isFalse();
    assertThat(s.putSsoSession("s3", new AuthenticatedUser("other", null, null),
        in(Duration.ofHours(8)))).isTrue();
    s.removeSsoSession("s1");
    assertThat(s.putSsoSession("s4", USER, in(Duration.ofHours(8)))).isTrue();
  }

  @Test
  public void redeemCode_unknownExpiredOrPastItsReplayWindow_unknown() {
    AuthorizationStateStore s = newStore(clock, 100);
    assertThat(s.redeemCode("nope", "g0", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.UNKNOWN);
    assertThat(s.putCode("late", grant("app", USER), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
    clock.advance(Duration.ofMinutes(1));
    assertThat(s.redeemCode("late", "g1", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.UNKNOWN);
    assertThat(s.grantActive("g1")).isFalse();
    assertThat(s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)))).isEqualTo(Admission.ACCEPTED);
    CodeRedemption won = s.redeemCode("c", "g2", Optional.of("h"), in(Duration.ofHours(1)), in(Duration.ofMinutes(10)));
    assertThat(won.status()).isEqualTo(CodeRedemption.Status.REDEEMED);
    assertThat(won.grant()).contains(grant("app", USER));
    clock.advance(Duration.ofMinutes(10));
    // the code is forgotten after its replay window: a late replay no longer ends the grant
    assertThat(s.redeemCode("c", "g3", Optional.empty(), in(Duration.ofHours(1)), in(Duration.ofMinutes(10))).status())
        .isEqualTo(CodeRedemption.Status.UNKNOWN);
    assertThat(s.grantActive("g2")).isTrue();
  }

  @Test
  public void rotateRefresh_extendsTheGrant_andGrantEndsAtItsTime() {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(1)), in(Duration.ofMinutes(10)));
    clock.advance(Duration.ofMinutes(50));
    RefreshRotation r = s.rotateRefresh("g", "app", "h0", "h1", in(Duration.ofHours(1)));
    assertThat(r.status()).isEqualTo(RefreshRotation.Status.ROTATED);
    assertThat(r.grant()).contains(grant("app", USER));
    clock.advance(Duration.ofMinutes(50));
    assertThat(s.grantActive("g")).isTrue();
    clock.advance(Duration.ofMinutes(10));
    assertThat(s.grantActive("g")).isFalse();
    assertThat(s.rotateRefresh("g", "app", "h1", "h2", in(Duration.ofHours(1))).status())
        .isEqualTo(RefreshRotation.Status.UNKNOWN);
  }

  @Test
  public void rotateRefresh_manyRotations_anOldTokenStillReplays() {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    for (int i = 0; i < 10; i++) {
      assertThat(s.rotateRefresh("g", "app", "h" + i, "h" + (i + 1), in(Duration.ofHours(8))).status())
          .isEqualTo(RefreshRotation.Status.ROTATED);
    }
    assertThat(s.rotateRefresh("g", "app", "h3", "x", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.REPLAYED);
    assertThat(s.grantActive("g")).isFalse();
  }

  @Test
  public void endGrant_liveGrant_inactiveAndItsTokenUnknown() {
    AuthorizationStateStore s = newStore(clock, 100);
    s.putCode("c", grant("app", USER), in(Duration.ofMinutes(1)));
    s.redeemCode("c", "g", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    assertThat(s.grantActive("g")).isTrue();
    s.endGrant("g");
    assertThat(s.grantActive("g")).isFalse();
    assertThat(s.revokeRefresh("g", "app", "h0")).isFalse();
    assertThat(s.rotateRefresh("g", "app", "h0", "h1", in(Duration.ofHours(8))).status())
        .isEqualTo(RefreshRotation.Status.UNKNOWN);
  }

  @Test
  public void clearAccountAttempts_afterLimit_countsAgainFromOne() {
    AuthorizationStateStore s = newStore(clock, 100);
    for (int i = 0; i < 2; i++) {
      s.countAccountAttempt("dr.a", "198.51.100.1", 2, in(Duration.ofMinutes(15)));
    }
    assertThat(s.countAccountAttempt("dr.a", "198.51.100.1", 2, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.LIMITED);
    assertThat(s.countAccountAttempt("dr.b", "198.51.100.1", 2, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.ACCEPTED);
    s.clearAccountAttempts("dr.a");
    assertThat(s.countAccountAttempt("dr.a", "198.51.100.1", 2, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.ACCEPTED);
    // the address holds its share (2) of the counters: a third account is refused
    assertThat(s.countAccountAttempt("dr.c", "198.51.100.1", 2, in(Duration.ofMinutes(15))))
        .isEqualTo(Admission.LIMITED);
  }
}
