package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.LaunchContext;
import ca.halo.core.SmartScopes;
import ca.halo.server.TestClock;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.AuthorizationGrant;
import ca.halo.server.authz.AuthorizationStateStore.Admission;
import ca.halo.server.authz.PendingSignIn;
import ca.halo.server.context.StoredContext;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PostgresPurgerTest {
  private static final Instant T0 = Instant.parse("2026-01-01T08:00:00Z");
  private static final AuthenticatedUser USER = new AuthenticatedUser("dr.a", null, null);
  private final TestClock clock = new TestClock(T0);
  private final SharedDatabase db = new SharedDatabase();

  @AfterEach
  void close() {
    db.close();
  }

  private Instant in(Duration d) {
    return clock.instant().plus(d);
  }

  private static AuthorizationGrant grant(AuthenticatedUser user) {
    return AuthorizationGrant.builder("app", SmartScopes.parse("openid"), user).build();
  }

  private static PendingSignIn signIn() {
    return PendingSignIn.builder("app", URI.create("http://localhost/cb"), "st", "c".repeat(43),
        SmartScopes.parse("openid")).browserBinding("b").remoteAddress("198.51.100.1").build();
  }

  @Test
  void purgeNow_expiredAndLiveRows_deletesOnlyWhatNoOneNeeds() {
    PostgresAuthorizationStateStore authz = PostgresAuthorizationStateStore.builder(db.node())
        .clock(clock).capacity(1_000).build();
    PostgresLaunchContextStore contexts = PostgresLaunchContextStore.builder(db.any()).build();
    PostgresAuditSink audit = PostgresAuditSink.builder(db.any()).clock(clock).build();
    // short-lived: all gone after an hour
    authz.beginSignIn("i-old", signIn(), in(Duration.ofMinutes(5)));
    authz.countAccountAttempt("dr.a", "198.51.100.1", 5, in(Duration.ofMinutes(15)));
    authz.putSsoSession("sso-old", USER, in(Duration.ofMinutes(30)));
    authz.putCode("fresh-old", grant(USER), in(Duration.ofMinutes(1)));
    authz.putCode("used-old", grant(USER), in(Duration.ofMinutes(1)));
    authz.redeemCode("used-old", "g-old", Optional.empty(), in(Duration.ofMinutes(30)), in(Duration.ofMinutes(10)));
    authz.revoke("g-old.t", "app", in(Duration.ofMinutes(30)));
    authz.recordAssertionJti("backend", "j-old", in(Duration.ofMinutes(5)));
    audit.record(event(T0.minus(Duration.ofDays(400))));
    audit.record(event(T0.minus(Duration.ofDays(10))));
    contexts.create(StoredContext.builder().launchId("L-old").sessionId("S-old").ownerClientId("emr")
        .context(LaunchContext.empty()).createdAt(T0).expiresAt(in(Duration.ofMinutes(10))).build());
    clock.advance(Duration.ofHours(1));
    // live: still needed after the purge
    authz.beginSignIn("i-new", signIn(), in(Duration.ofMinutes(5)));
    authz.putSsoSession("sso-new", USER, in(Duration.ofHours(8)));
    authz.putCode("used-new", grant(USER), in(Duration.ofMinutes(1)));
    authz.redeemCode("used-new", "g-new", Optional.of("h0"), in(Duration.ofHours(8)), in(Duration.ofMinutes(10)));
    authz.revoke("g-new.t", "app", in(Duration.ofHours(1)));
    authz.recordAssertionJti("backend", "j-new", in(Duration.ofMinutes(5)));
    PostgresPurger purger = PostgresPurger.builder(db.node()).clock(clock).build();

    PurgeReport report = purger.purgeNow();

    assertThat(report.ran()).isTrue();
    assertThat(report.deleted()).containsEntry("halo_authz_sign_in", 1)
        .containsEntry("halo_authz_account_attempt", 1).containsEntry("halo_authz_sso_session", 1)
        .containsEntry("halo_authz_code", 2).containsEntry("halo_authz_grant", 1)
        .containsEntry("halo_authz_revoked_token", 1).containsEntry("halo_authz_assertion_jti", 1)
        .containsEntry("halo_audit_event", 1);
    assertThat(db.count("SELECT count(*) FROM halo_audit_event")).isEqualTo(1);
    // what is live still works
    assertThat(authz.signIn("i-new")).isPresent();
    assertThat(authz.ssoSession("sso-new")).contains(USER);
    assertThat(authz.grantActive("g-new")).isTrue();
    assertThat(authz.isRevoked("g-new.t")).isTrue();
    assertThat(authz.recordAssertionJti("backend", "j-new", in(Duration.ofMinutes(5)))).isEqualTo(Admission.REPLAYED);
    assertThat(authz.redeemCode("used-new", "g-x", Optional.empty(), in(Duration.ofHours(1)),
        in(Duration.ofMinutes(10))).status()).as("a replay inside its window still ends the grant")
        .isEqualTo(ca.halo.server.authz.AuthorizationStateStore.CodeRedemption.Status.REPLAYED);
    // an expired launch context is left for ContextManager.expireNow()
    assertThat(contexts.size()).isEqualTo(1);
    assertThat(contexts.expired(clock.instant(), 10)).extracting(StoredContext::launchId).containsExactly("L-old");
    // the counters follow the deletes, and the purge leaves no zero counters behind
    for (String table : PostgresAuthorizationStateStore.tables().keySet()) {
      assertThat(db.countersExact(table)).as(table).isTrue();
    }
    purger.purgeNow();
    assertThat(db.count("SELECT count(*) FROM halo_row_count WHERE n = 0 AND owner <> ''")).isZero();
  }

  private static org.hl7.fhir.r4.model.AuditEvent event(Instant when) {
    org.hl7.fhir.r4.model.AuditEvent e = new org.hl7.fhir.r4.model.AuditEvent();
    e.setRecorded(java.util.Date.from(when));
    return e;
  }

  @Test
  void purgeNow_twoPurgersAtOnce_onlyOneRuns() throws Exception {
    CountDownLatch inside = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    PostgresPurger first = PostgresPurger.builder(db.node()).clock(clock).task("blocking", (h, now, limit) -> {
      inside.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 0;
    }).build();
    PostgresPurger second = PostgresPurger.builder(db.node()).clock(clock).build();
    CompletableFuture<PurgeReport> running = CompletableFuture.supplyAsync(first::purgeNow);
    assertThat(inside.await(30, TimeUnit.SECONDS)).isTrue();

    PurgeReport other = second.purgeNow();
    release.countDown();

    assertThat(other.ran()).isFalse();
    assertThat(other.total()).isZero();
    assertThat(running.get(30, TimeUnit.SECONDS).ran()).isTrue();
    assertThat(second.purgeNow().ran()).as("the lock is free again").isTrue();
  }

  @Test
  void purgeNow_manyExpiredRows_boundedBatchesThenTheNextRunGoesOn() {
    PostgresAuthorizationStateStore authz = PostgresAuthorizationStateStore.builder(db.node())
        .clock(clock).capacity(1_000).maxPerOwner(100).build();
    for (int i = 0; i < 25; i++) {
      authz.recordAssertionJti("backend", "j" + i, in(Duration.ofMinutes(5)));
    }
    clock.advance(Duration.ofMinutes(5));
    PostgresPurger purger = PostgresPurger.builder(db.node()).clock(clock).batchSize(10)
        .maxBatchesPerTask(2).build();

    assertThat(purger.purgeNow().deleted()).containsEntry("halo_authz_assertion_jti", 20);
    assertThat(purger.purgeNow().deleted()).containsEntry("halo_authz_assertion_jti", 5);
    assertThat(db.count("SELECT count(*) FROM halo_authz_assertion_jti")).isZero();
  }

  @Test
  void purgeNow_addedTask_runsUnderTheLockAfterTheOwnTasks() {
    boolean[] locked = {false};
    PostgresPurger purger = PostgresPurger.builder(db.node()).clock(clock).task("other-store", (h, now, limit) -> {
      locked[0] = h.createQuery("SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory'"
          + " AND pid = pg_backend_pid() AND granted").mapTo(Boolean.class).one();
      assertThat(now).isEqualTo(T0);
      return 3;
    }).build();

    PurgeReport report = purger.purgeNow();

    assertThat(locked[0]).isTrue();
    assertThat(report.deleted()).containsEntry("other-store", 3);
    assertThat(purger.taskNames()).startsWith("halo_authz_account_attempt").endsWith("other-store", "halo_row_count");
  }

  @Test
  void build_taskNamedLikeAnOwnTable_refused() {
    assertThatThrownBy(() -> PostgresPurger.builder(db.node()).task("halo_audit_event", (h, n, l) -> 0).build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> PostgresPurger.builder(db.node()).batchSize(0).build())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void start_onASchedule_runsUntilClosed() throws Exception {
    CountDownLatch runs = new CountDownLatch(2);
    PostgresPurger purger = PostgresPurger.builder(db.node()).clock(clock)
        .task("count", (h, now, limit) -> {
          runs.countDown();
          return 0;
        }).build();

    try (PostgresPurger p = purger.start(Duration.ofMillis(20))) {
      assertThat(runs.await(30, TimeUnit.SECONDS)).isTrue();
      assertThatThrownBy(() -> p.start(Duration.ofMillis(20))).isInstanceOf(IllegalStateException.class);
    }
    assertThat(Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("halo-postgres-purge") && t.isAlive())
        .allMatch(t -> {
          try {
            t.join(5_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return !t.isAlive();
        })).isTrue();
  }
}
