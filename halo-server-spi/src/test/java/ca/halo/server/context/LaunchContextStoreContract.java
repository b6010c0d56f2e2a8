package ca.halo.server.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.FhirContextItem;
import ca.halo.core.LaunchContext;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What every {@link LaunchContextStore} must do: the behaviour of each method, bounds that fail
 * closed, expiry judged by the {@code now} argument, and atomicity when several threads (or
 * nodes) act on the same contexts. Ships in the {@code halo-server-spi} test-jar; an
 * implementation's test extends it:
 *
 * <pre>{@code
 * class MyLaunchContextStoreTest extends LaunchContextStoreContract {
 *   protected LaunchContextStore newStore(int capacity) { return new MyStore(capacity); }
 * }
 * }</pre>
 *
 * <p>The concurrency tests run half their threads on {@link #otherNode} of the store: a store
 * shared by several nodes returns a second instance over the same shared state there.
 */
public abstract class LaunchContextStoreContract {
  /** A moment on whole milliseconds (a database may keep microseconds only). */
  protected static final Instant T0 = Instant.parse("2026-01-01T08:00:00.123Z");
  private static final Duration TTL = Duration.ofHours(8);

  /** An empty store that holds at most {@code capacity} contexts. */
  protected abstract LaunchContextStore newStore(int capacity);

  /**
   * The same contexts as seen from another node: for a shared store, a second instance (its own
   * connections) over what {@code store} holds. By default {@code store} itself.
   */
  protected LaunchContextStore otherNode(LaunchContextStore store) {
    return store;
  }

  /** A context of session {@code session}, set at {@link #T0}, ending at {@code T0 + 8 h}. */
  protected static StoredContext context(String launch, String session) {
    return context(launch, session, T0.plus(TTL));
  }

  protected static StoredContext context(String launch, String session, Instant expiresAt) {
    return StoredContext.builder().launchId(launch).sessionId(session).ownerClientId("emr")
        .ownerSubject("dr.a").context(LaunchContext.builder().patient("p-" + session).build())
        .createdAt(T0).expiresAt(expiresAt).build();
  }

  @FunctionalInterface
  private interface Call<T> {
    T call(int thread) throws Exception;
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
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private LaunchContextStore[] nodes(LaunchContextStore s) {
    return new LaunchContextStore[] {s, otherNode(s)};
  }

  // ---------------------------------------------------------------- create and find

  @Test
  public void create_thenFind_returnsTheContextAsStored() {
    LaunchContextStore s = newStore(10);
    StoredContext full = StoredContext.builder().launchId("L1").sessionId("S1")
        .ownerClientId("emr").ownerSubject("dr.a").appId("growth-chart")
        .context(LaunchContext.builder().patient("123").encounter("e-9").fhirUser("Practitioner/7")
            .addFhirContext(FhirContextItem.reference("DiagnosticReport/4").withRole("http://example.org/role/source"))
            .addFhirContext(FhirContextItem.canonical("http://example.org/Questionnaire/q|1", "Questionnaire"))
            .needPatientBanner(false).smartStyleUrl(URI.create("https://emr.example/style.json"))
            .intent("reconcile-medications").tenant("t1").build())
        .createdAt(T0).expiresAt(T0.plus(TTL)).addResource("Patient/123")
        .addResource("Encounter/e-9").sizeBytes(4096).build();
    s.create(full);

    assertThat(s.find("L1", T0)).contains(full);
    assertThat(s.findBySession("S1", T0)).contains(full);
    assertThat(s.find("L1", T0).orElseThrow().resources())
        .containsExactly("Patient/123", "Encounter/e-9");
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  public void create_withoutSubjectOrApp_findKeepsThemAbsent() {
    LaunchContextStore s = newStore(10);
    StoredContext bare = StoredContext.builder().launchId("L1").sessionId("S1")
        .ownerClientId("backend").createdAt(T0).expiresAt(T0.plus(TTL)).build();
    s.create(bare);

    StoredContext found = s.find("L1", T0).orElseThrow();
    assertThat(found).isEqualTo(bare);
    assertThat(found.ownerSubject()).isEmpty();
    assertThat(found.appId()).isEmpty();
    assertThat(found.context()).isEqualTo(LaunchContext.empty());
  }

  @Test
  public void find_unknownOrNullIds_empty() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));

    assertThat(s.find("L2", T0)).isEmpty();
    assertThat(s.find(null, T0)).isEmpty();
    assertThat(s.findBySession("S2", T0)).isEmpty();
    assertThat(s.findBySession(null, T0)).isEmpty();
    assertThat(s.find("S1", T0)).as("a session id is not a launch id").isEmpty();
  }

  @Test
  public void create_launchIdInUse_illegalStateAndNothingChanged() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));

    assertThatThrownBy(() -> s.create(context("L1", "S2"))).isInstanceOf(IllegalStateException.class);
    assertThat(s.findBySession("S2", T0)).isEmpty();
    assertThat(s.find("L1", T0).map(StoredContext::sessionId)).contains("S1");
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  public void create_sessionIdInUse_illegalStateAndNothingChanged() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));

    assertThatThrownBy(() -> s.create(context("L2", "S1"))).isInstanceOf(IllegalStateException.class);
    assertThat(s.find("L2", T0)).isEmpty();
    assertThat(s.findBySession("S1", T0).map(StoredContext::launchId)).contains("L1");
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  public void create_atCapacity_fullUntilOneIsDeleted() {
    LaunchContextStore s = newStore(3);
    for (int i = 0; i < 3; i++) {
      s.create(context("L" + i, "S" + i));
    }

    assertThatThrownBy(() -> s.create(context("L3", "S3"))).isInstanceOf(ContextStoreFullException.class);
    assertThat(s.find("L3", T0)).isEmpty();
    assertThat(s.size()).isEqualTo(3);
    assertThat(s.delete("L0")).isPresent();
    s.create(context("L3", "S3"));
    assertThat(s.find("L3", T0)).isPresent();
  }

  @Test
  public void create_expiredContextsNotYetRemoved_stillCountAgainstCapacity() {
    LaunchContextStore s = newStore(2);
    s.create(context("L0", "S0", T0.plusSeconds(1)));
    s.create(context("L1", "S1", T0.plusSeconds(1)));
    Instant later = T0.plusSeconds(2);

    assertThat(s.size()).isEqualTo(2);
    assertThatThrownBy(() -> s.create(context("L2", "S2"))).isInstanceOf(ContextStoreFullException.class);
    assertThat(s.expired(later, 10)).hasSize(2);
    assertThat(s.size()).as("listed, not removed").isEqualTo(2);
    s.expired(later, 10).forEach(c -> s.delete(c.launchId()));
    assertThat(s.size()).isZero();
    s.create(context("L2", "S2"));
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  public void find_expiryJudgedByNow_goneFromItsExpiryOn() {
    LaunchContextStore s = newStore(10);
    Instant end = T0.plusSeconds(60);
    s.create(context("L1", "S1", end));

    assertThat(s.find("L1", end.minusMillis(1))).isPresent();
    assertThat(s.findBySession("S1", end.minusMillis(1))).isPresent();
    assertThat(s.find("L1", end)).isEmpty();
    assertThat(s.findBySession("S1", end)).isEmpty();
    assertThat(s.find("L1", T0)).as("expiry is judged by the argument, not a clock").isPresent();
    assertThat(s.size()).isEqualTo(1);
  }

  // ---------------------------------------------------------------- addResource

  @Test
  public void addResource_liveSession_trueAndDeleteReturnsEveryResource() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1").toBuilder().addResource("Patient/1").build());

    for (int i = 0; i < 200; i++) {
      assertThat(s.addResource("S1", "Observation/" + i, T0)).isTrue();
    }
    assertThat(s.addResource("S1", "Observation/0", T0)).as("recorded twice").isTrue();

    StoredContext found = s.find("L1", T0).orElseThrow();
    assertThat(found.resources()).contains("Patient/1");
    StoredContext deleted = s.delete("L1").orElseThrow();
    assertThat(deleted.resources()).hasSize(201).contains("Patient/1", "Observation/0", "Observation/199");
    assertThat(deleted.launchId()).isEqualTo("L1");
    assertThat(deleted.context()).isEqualTo(found.context());
  }

  @Test
  public void addResource_unknownExpiredOrEndedSession_false() {
    LaunchContextStore s = newStore(10);
    Instant end = T0.plusSeconds(60);
    s.create(context("L1", "S1", end));
    s.create(context("L2", "S2"));

    assertThat(s.addResource("nobody", "Patient/1", T0)).isFalse();
    assertThat(s.addResource("S1", "Patient/1", end)).isFalse();
    assertThat(s.delete("L2")).isPresent();
    assertThat(s.addResource("S2", "Patient/2", T0)).isFalse();
    assertThat(s.delete("L1").orElseThrow().resources()).isEmpty();
  }

  @Test
  public void create_ownerShare_countsContextsAndBytesUntilDeleted_perOwner() {
    LaunchContextStore s = newStore(100);
    StoredContext a = context("L1", "S1").toBuilder().sizeBytes(600).build();
    s.create(a, 2, 1_000);
    assertThatThrownBy(() -> s.create(context("L2", "S2").toBuilder().sizeBytes(500).build(), 2, 1_000))
        .as("bytes").isInstanceOf(OwnerShareExceededException.class);
    s.create(context("L2", "S2").toBuilder().sizeBytes(400).build(), 2, 1_000);
    assertThatThrownBy(() -> s.create(context("L3", "S3"), 2, 1_000))
        .as("count").isInstanceOf(OwnerShareExceededException.class);
    assertThat(s.find("L3", T0)).as("nothing stored on refusal").isEmpty();
    StoredContext other = context("L4", "S4").toBuilder().ownerSubject("dr.b").build();
    s.create(other, 2, 1_000); // another owner has a share of its own
    s.create(context("L5", "S5"), Integer.MAX_VALUE, Long.MAX_VALUE); // no share checked
    s.delete("L1");
    s.delete("L5");
    s.create(context("L3", "S3").toBuilder().sizeBytes(600).build(), 2, 1_000);
    assertThat(s.size()).isEqualTo(3);
  }

  @Test
  public void create_ownerShare_concurrentOnTwoNodes_neverExceedsIt() throws Exception {
    LaunchContextStore s = newStore(1_000);
    LaunchContextStore[] nodes = nodes(s);
    List<Boolean> rs = together(12, t -> {
      try {
        nodes[t % 2].create(context("L" + t, "S" + t), 5, Long.MAX_VALUE - 1);
        return true;
      } catch (OwnerShareExceededException e) {
        return false;
      }
    });
    assertThat(rs.stream().filter(b -> b).count()).isEqualTo(5);
    assertThat(s.size()).isEqualTo(5);
  }

  @Test
  public void chargeWrite_countsBytesAndResourcesPerLiveSession_refundsAndEndsWithTheContext() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));
    s.create(context("L2", "S2"));
    assertThat(s.chargeWrite("S1", 600, 1, 1_000, 2, T0)).isEqualTo(LaunchContextStore.WriteCharge.CHARGED);
    assertThat(s.chargeWrite("S1", 500, 0, 1_000, 2, T0)).as("bytes")
        .isEqualTo(LaunchContextStore.WriteCharge.OVER_BUDGET);
    assertThat(s.chargeWrite("S1", 400, 1, 1_000, 2, T0)).isEqualTo(LaunchContextStore.WriteCharge.CHARGED);
    assertThat(s.chargeWrite("S1", 0, 1, 1_000, 2, T0)).as("resources")
        .isEqualTo(LaunchContextStore.WriteCharge.OVER_BUDGET);
    assertThat(s.chargeWrite("S2", 1_000, 2, 1_000, 2, T0)).as("a budget per session")
        .isEqualTo(LaunchContextStore.WriteCharge.CHARGED);
    s.refundWrite("S1", 400, 1);
    s.refundWrite("S1", 10_000, 10); // never below zero
    assertThat(s.chargeWrite("S1", 1_000, 2, 1_000, 2, T0)).isEqualTo(LaunchContextStore.WriteCharge.CHARGED);
    assertThat(s.chargeWrite("nope", 1, 0, 1_000, 2, T0)).isEqualTo(LaunchContextStore.WriteCharge.NO_SESSION);
    assertThat(s.chargeWrite("S2", 0, 0, 1_000, 2, T0.plus(TTL))).as("expired")
        .isEqualTo(LaunchContextStore.WriteCharge.NO_SESSION);
    s.delete("L1");
    assertThat(s.chargeWrite("S1", 1, 0, 1_000, 2, T0)).isEqualTo(LaunchContextStore.WriteCharge.NO_SESSION);
  }

  @Test
  public void chargeWrite_concurrentOnTwoNodes_neverPassesTheBudget() throws Exception {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));
    LaunchContextStore[] nodes = nodes(s);
    List<LaunchContextStore.WriteCharge> rs = together(12,
        t -> nodes[t % 2].chargeWrite("S1", 10, 1, 1_000_000, 5, T0));
    assertThat(rs.stream().filter(c -> c == LaunchContextStore.WriteCharge.CHARGED).count()).isEqualTo(5);
  }

  // ---------------------------------------------------------------- delete and expired

  @Test
  public void delete_liveOrExpired_returnsItOnceAndFreesItsIds() {
    LaunchContextStore s = newStore(10);
    s.create(context("L1", "S1"));
    s.create(context("L2", "S2", T0.plusSeconds(1)));

    assertThat(s.delete("L1").map(StoredContext::sessionId)).contains("S1");
    assertThat(s.delete("L1")).isEmpty();
    assertThat(s.find("L1", T0)).isEmpty();
    assertThat(s.findBySession("S1", T0)).isEmpty();
    assertThat(s.delete("L2").map(StoredContext::sessionId)).as("expired, not yet removed").contains("S2");
    assertThat(s.delete("never")).isEmpty();
    assertThat(s.size()).isZero();
    s.create(context("L1", "S1")); // both ids free again
    assertThat(s.find("L1", T0)).isPresent();
  }

  @Test
  public void expired_mixedContexts_listsOnlyTheExpiredOldestFirstWithTheirResources_untilDeleted() {
    LaunchContextStore s = newStore(10);
    Instant end = T0.plusSeconds(60);
    s.create(context("L1", "S1", end).toBuilder().addResource("Patient/a").build());
    s.create(context("L2", "S2", end.plusSeconds(1)));
    s.create(context("L3", "S3", end.minusSeconds(30)));
    assertThat(s.addResource("S1", "Observation/x", T0)).isTrue();

    assertThat(s.expired(end.minusSeconds(31), 10)).isEmpty();
    List<StoredContext> listed = s.expired(end, 10);

    assertThat(listed).extracting(StoredContext::launchId).containsExactly("L3", "L1");
    assertThat(listed.get(1).resources()).containsExactlyInAnyOrder("Patient/a", "Observation/x");
    assertThat(s.expired(end, 1)).extracting(StoredContext::launchId).containsExactly("L3");
    assertThat(s.expired(end, 10)).as("listing removes nothing").hasSize(2);
    assertThat(s.find("L1", end)).as("but an expired context is not found").isEmpty();
    assertThat(s.delete("L1").orElseThrow().resources()).contains("Observation/x");
    assertThat(s.expired(end, 10)).extracting(StoredContext::launchId).containsExactly("L3");
    assertThat(s.find("L2", end)).isPresent();
    assertThat(s.size()).isEqualTo(2);
  }

  @Test
  public void expired_emptyStore_emptyList() {
    LaunchContextStore s = newStore(10);

    assertThat(s.expired(T0, 10)).isEmpty();
    assertThat(s.size()).isZero();
  }

  // ---------------------------------------------------------------- atomicity

  @Test
  public void delete_concurrentOnOneLaunch_exactlyOneGetsIt() throws Exception {
    LaunchContextStore s = newStore(100);
    LaunchContextStore[] nodes = nodes(s);
    for (int round = 0; round < 20; round++) {
      String launch = "L" + round;
      s.create(context(launch, "S" + round));
      List<Optional<StoredContext>> rs = together(6, t -> nodes[t % 2].delete(launch));
      assertThat(rs.stream().filter(Optional::isPresent).count()).as("round %s", round).isEqualTo(1);
    }
    assertThat(s.size()).isZero();
  }

  @Test
  public void expiredThenDelete_concurrentOnTwoNodes_eachExpiredContextEndedOnce() throws Exception {
    LaunchContextStore s = newStore(1_000);
    Instant end = T0.plusSeconds(60);
    Set<String> expired = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      boolean dead = i % 3 != 0;
      s.create(context("L" + i, "S" + i, dead ? end : end.plusSeconds(60)));
      if (dead) {
        expired.add("L" + i);
      }
    }
    LaunchContextStore[] nodes = nodes(s);

    // each node sweeps as the SoFA does: list, then delete what it listed
    List<List<StoredContext>> rs = together(4, t -> {
      List<StoredContext> ended = new java.util.ArrayList<>();
      for (StoredContext c : nodes[t % 2].expired(end, 1_000)) {
        nodes[t % 2].delete(c.launchId()).ifPresent(ended::add);
      }
      return ended;
    });

    List<String> returned = rs.stream().flatMap(List::stream).map(StoredContext::launchId)
        .collect(Collectors.toList());
    assertThat(returned).doesNotHaveDuplicates();
    assertThat(new HashSet<>(returned)).isEqualTo(expired);
    assertThat(s.size()).isEqualTo(100);
  }

  @Test
  public void create_concurrentAtCapacity_neverExceedsIt() throws Exception {
    LaunchContextStore s = newStore(5);
    LaunchContextStore[] nodes = nodes(s);

    List<Boolean> rs = together(16, t -> {
      try {
        nodes[t % 2].create(context("L" + t, "S" + t));
        return true;
      } catch (ContextStoreFullException e) {
        return false;
      }
    });

    assertThat(rs.stream().filter(ok -> ok).count()).isEqualTo(5);
    assertThat(s.size()).isEqualTo(5);
    assertThat(otherNode(s).size()).isEqualTo(5);
  }

  @Test
  public void create_concurrentSameSession_exactlyOneStored() throws Exception {
    LaunchContextStore s = newStore(100);
    LaunchContextStore[] nodes = nodes(s);

    List<Boolean> rs = together(8, t -> {
      try {
        nodes[t % 2].create(context("L" + t, "shared"));
        return true;
      } catch (IllegalStateException e) {
        return false;
      }
    });

    assertThat(rs.stream().filter(ok -> ok).count()).isEqualTo(1);
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  public void addResource_racingDelete_everyAcceptedResourceIsReturned() throws Exception {
    LaunchContextStore s = newStore(100);
    LaunchContextStore[] nodes = nodes(s);
    for (int round = 0; round < 20; round++) {
      String launch = "L" + round;
      String session = "S" + round;
      s.create(context(launch, session));
      int r = round;
      List<Object> rs = together(4, t -> t == 0
          ? nodes[0].delete(launch)
          : Boolean.valueOf(nodes[t % 2].addResource(session, "Observation/" + r + "-" + t, T0)));
      @SuppressWarnings("unchecked")
      StoredContext deleted = ((Optional<StoredContext>) rs.get(0)).orElseThrow();
      for (int t = 1; t < 4; t++) {
        if ((Boolean) rs.get(t)) {
          assertThat(deleted.resources()).as("round %s thread %s", round, t)
              .contains("Observation/" + round + "-" + t);
        }
      }
      assertThat(s.addResource(session, "Observation/late", T0)).isFalse();
    }
  }
}
