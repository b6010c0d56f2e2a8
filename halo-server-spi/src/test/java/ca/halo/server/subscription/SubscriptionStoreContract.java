package ca.halo.server.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.SmartScopes;
import ca.halo.server.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What every {@link SubscriptionStore} must do: each method atomic, event numbers gap-free and
 * never twice whichever node numbers them, leases held by one node at a time. A shared (database)
 * store extends this class; {@link #newStores()} gives two instances over the same storage when
 * it can ("two nodes"), or the same instance twice.
 */
public abstract class SubscriptionStoreContract {
  protected static final Instant T0 = Instant.parse("2026-01-01T08:00:00Z");
  private static final Duration LEASE = Duration.ofSeconds(10);
  private static final Duration PROBE = Duration.ofSeconds(30);

  /** A new, empty store. */
  protected abstract SubscriptionStore newStore();

  /** Two views of one new, empty store, as two nodes would have; default: the same instance. */
  protected SubscriptionStore[] newStores() {
    SubscriptionStore s = newStore();
    return new SubscriptionStore[] {s, s};
  }

  private static final java.util.concurrent.atomic.AtomicLong IDS =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() % 1_000_000_000L);

  protected static Principal principal(String client, String user, String session) {
    return Principal.builder(client).subject(user).sessionId(session)
        .scopes(SmartScopes.parse("user/*.rs user/Context.write")).expiresAt(T0.plusSeconds(3600))
        .tokenId("grant." + client).issuer("https://sofa.example/auth").build();
  }

  protected static SubscriptionRecord.Builder record(Principal p) {
    String id = String.format("%024x", IDS.incrementAndGet());
    return SubscriptionRecord.builder().id(id).ownerKey(p.ownerKey())
        .quotaKey(p.hasUser() ? "user:" + p.subject().orElseThrow() : "client:" + p.clientId())
        .subscriber(p).subscriptionJson("{\"resourceType\":\"Subscription\"}")
        .channel(SubscriptionRecord.Channel.REST_HOOK).endpoint("https://emr.example/hook")
        .headers(List.of("Authorization: Bearer x")).payload("id-only").timeoutSeconds(10)
        .heartbeatSeconds(0).maxCount(50).filterType("Observation").filterLaunch("L1")
        .status("active").createdAt(T0);
  }

  private static <T> List<T> together(int n, Callable<T> call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(() -> {
          go.await();
          return call.call();
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
  void create_thenFindAndFindByOwner_roundTripsEveryField() {
    SubscriptionStore s = newStore();
    Principal p = principal("emr", "dr.a", null);
    SubscriptionRecord r = record(p).heartbeatSeconds(30).filterPatient("Patient/1")
        .error("x").lastProbeAt(T0.plusSeconds(1)).nextAttemptAt(T0.plusSeconds(2)).build();
    s.create(r, 100, 10, 10);
    SubscriptionRecord got = s.find(r.id()).orElseThrow();
    assertThat(got).isEqualTo(r);
    assertThat(got.subscriber()).isEqualTo(p);
    assertThat(got.headers()).containsExactly("Authorization: Bearer x");
    assertThat(got.filterPatient()).hasValue("Patient/1");
    assertThat(got.heartbeatSeconds()).isEqualTo(30);
    assertThat(s.findByOwner(p.ownerKey())).extracting(SubscriptionRecord::id).containsExactly(r.id());
    assertThat(s.findByOwner("someone#")).isEmpty();
    assertThat(s.known(List.of(r.id(), "000000000000000000000000"))).containsExactly(r.id());
    assertThat(s.known(List.of())).isEmpty();
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  void create_pastEachBound_refusedAndNothingStored() {
    SubscriptionStore s = newStore();
    Principal a = principal("emr", "dr.a", null);
    s.create(record(a).build(), 3, 2, 2);
    s.create(record(a).build(), 3, 2, 2);
    assertThatThrownBy(() -> s.create(record(a).build(), 3, 2, 2))
        .isInstanceOf(SubscriptionException.class).extracting("httpStatus").isEqualTo(429);
    Principal app = principal("app", "dr.b", "session-1");
    s.create(record(app).build(), 3, 5, 1);
    assertThatThrownBy(() -> s.create(record(app).build(), 5, 5, 1))
        .isInstanceOf(SubscriptionException.class).extracting("httpStatus").isEqualTo(429);
    assertThatThrownBy(() -> s.create(record(principal("emr", "dr.c", null)).build(), 3, 5, 5))
        .isInstanceOf(SubscriptionException.class).extracting("httpStatus").isEqualTo(503);
    assertThat(s.size()).isEqualTo(3);
  }

  @Test
  void create_concurrentlyAtTheBound_neverPassesIt() throws Exception {
    SubscriptionStore[] nodes = newStores();
    Principal a = principal("emr", "dr.a", null);
    List<Boolean> ok = together(8, () -> {
      try {
        nodes[(int) (Thread.currentThread().getId() % 2)].create(record(a).build(), 100, 3, 3);
        return true;
      } catch (SubscriptionException e) {
        return false;
      }
    });
    assertThat(ok.stream().filter(x -> x).count()).isEqualTo(3);
    assertThat(nodes[0].size()).isEqualTo(3);
  }

  @Test
  void matching_absentFiltersMatchAnythingOffAndLapsedNever() {
    SubscriptionStore s = newStore();
    Principal p = principal("emr", "dr.a", null);
    SubscriptionRecord any = record(p).filterType(null).filterLaunch(null).build();
    SubscriptionRecord obsL1 = record(p).build();
    SubscriptionRecord patient = record(p).filterType(null).filterLaunch(null).filterPatient("Patient/9").build();
    SubscriptionRecord off = record(p).filterType(null).filterLaunch(null).status("off").build();
    SubscriptionRecord lapsed = record(p).filterType(null).filterLaunch(null).lapsed(true).build();
    for (SubscriptionRecord r : List.of(any, obsL1, patient, off, lapsed)) {
      s.create(r, 100, 100, 100);
    }
    assertThat(s.matching("Observation", "Patient/1", "L1")).extracting(SubscriptionRecord::id)
        .containsExactlyInAnyOrder(any.id(), obsL1.id());
    assertThat(s.matching("Condition", "Patient/9", null)).extracting(SubscriptionRecord::id)
        .containsExactlyInAnyOrder(any.id(), patient.id());
    assertThat(s.matching("Observation", null, "L2")).extracting(SubscriptionRecord::id)
        .containsExactly(any.id());
  }

  @Test
  void appendEvent_concurrentlyFromTwoNodes_gapFreeAndNeverTwice() throws Exception {
    SubscriptionStore[] nodes = newStores();
    SubscriptionRecord r = record(principal("emr", "dr.a", null)).build();
    nodes[0].create(r, 100, 100, 100);
    List<Long> numbers = together(8, () -> {
      List<Long> mine = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        mine.add(nodes[i % 2].appendEvent(r.id(), T0, "Observation/" + i, 10_000, T0.minusSeconds(60)));
      }
      return mine.size() == 25 ? mine.get(0) : -1L;
    });
    assertThat(numbers).doesNotContain(-1L);
    List<SubscriptionEvent> events = nodes[1].events(r.id(), 1, Long.MAX_VALUE, 10_000);
    assertThat(events).hasSize(200);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < events.size(); i++) {
      assertThat(events.get(i).number()).isEqualTo(i + 1);
      assertThat(seen.add(events.get(i).number())).isTrue();
    }
    assertThat(nodes[0].find(r.id()).orElseThrow().lastEvent()).isEqualTo(200);
  }

  @Test
  void appendEvent_keepsTheNewestAndRecentOnes_andRefusesOffLapsedOrGone() {
    SubscriptionStore s = newStore();
    SubscriptionRecord r = record(principal("emr", "dr.a", null)).build();
    s.create(r, 100, 100, 100);
    for (int i = 1; i <= 5; i++) {
      assertThat(s.appendEvent(r.id(), T0.plusSeconds(i), "Observation/" + i, 3, T0)).isEqualTo(i);
    }
    assertThat(s.events(r.id(), 1, 100, 100)).extracting(SubscriptionEvent::number).containsExactly(3L, 4L, 5L);
    assertThat(s.appendEvent(r.id(), T0.plusSeconds(10), "Observation/6", 100, T0.plusSeconds(5)))
        .isEqualTo(6);
    assertThat(s.events(r.id(), 1, 100, 100)).extracting(SubscriptionEvent::number).containsExactly(5L, 6L);
    assertThat(s.events(r.id(), 6, 6, 100)).extracting(SubscriptionEvent::focus).containsExactly("Observation/6");
    assertThat(s.events(r.id(), 1, 100, 1)).hasSize(1);
    s.update(r.id(), x -> x.toBuilder().status("off").build());
    assertThat(s.appendEvent(r.id(), T0, "Observation/7", 100, T0)).isZero();
    s.update(r.id(), x -> x.toBuilder().status("active").lapsed(true).build());
    assertThat(s.appendEvent(r.id(), T0, "Observation/7", 100, T0)).isZero();
    assertThat(s.appendEvent("000000000000000000000000", T0, "Observation/7", 100, T0)).isZero();
  }

  @Test
  void update_isAtomicAndNeverMovesTheEventCounter() throws Exception {
    SubscriptionStore[] nodes = newStores();
    SubscriptionRecord r = record(principal("emr", "dr.a", null)).build();
    nodes[0].create(r, 100, 100, 100);
    nodes[0].appendEvent(r.id(), T0, "Observation/1", 100, T0);
    together(8, () -> {
      for (int i = 0; i < 20; i++) {
        nodes[i % 2].update(r.id(), x -> x.toBuilder().failures(x.failures() + 1).lastEvent(999).build());
      }
      return true;
    });
    SubscriptionRecord after = nodes[1].find(r.id()).orElseThrow();
    assertThat(after.failures()).isEqualTo(160);
    assertThat(after.lastEvent()).isEqualTo(1);
    assertThat(nodes[0].update("000000000000000000000000", x -> x)).isEmpty();
  }

  @Test
  void claimDue_oneNodeAtATime_untilReleasedOrExpired() throws Exception {
    SubscriptionStore[] nodes = newStores();
    SubscriptionRecord handshake = record(principal("emr", "dr.a", null)).status("requested")
        .handshakePending(true).build();
    nodes[0].create(handshake, 100, 100, 100);
    List<Integer> claimed = together(6, () -> nodes[(int) (Thread.currentThread().getId() % 2)]
        .claimDue("n" + Thread.currentThread().getId(), T0, LEASE, PROBE, Set.of(), 10).size());
    assertThat(claimed.stream().mapToInt(Integer::intValue).sum()).isEqualTo(1);
    assertThat(nodes[1].claimDue("other", T0.plusSeconds(5), LEASE, PROBE, Set.of(), 10)).isEmpty();
    assertThat(nodes[1].claimDue("other", T0.plusSeconds(11), LEASE, PROBE, Set.of(), 10))
        .extracting(SubscriptionRecord::id).containsExactly(handshake.id());
    assertThat(nodes[0].claim(handshake.id(), "third", T0.plusSeconds(12), LEASE)).isFalse();
    nodes[0].release(handshake.id(), "not-the-holder");
    assertThat(nodes[0].claim(handshake.id(), "third", T0.plusSeconds(12), LEASE)).isFalse();
    nodes[0].release(handshake.id(), "other");
    assertThat(nodes[0].claim(handshake.id(), "third", T0.plusSeconds(12), LEASE)).isTrue();
  }

  @Test
  void claimDue_onlyWhatHasWork_websocketsOnlyWhereTheirSocketIs_andRenewalKeepsLeases() {
    SubscriptionStore s = newStore();
    Principal p = principal("emr", "dr.a", null);
    SubscriptionRecord idle = record(p).build();
    SubscriptionRecord pending = record(p).build();
    SubscriptionRecord later = record(p).nextAttemptAt(T0.plusSeconds(60)).build();
    SubscriptionRecord ws = record(p).channel(SubscriptionRecord.Channel.WEBSOCKET).endpoint(null)
        .headers(List.of()).build();
    SubscriptionRecord beat = record(p).heartbeatSeconds(5).lastSentAt(T0.minusSeconds(10)).build();
    for (SubscriptionRecord r : List.of(idle, pending, later, ws, beat)) {
      s.create(r, 100, 100, 100);
    }
    s.appendEvent(pending.id(), T0, "Observation/1", 100, T0);
    s.appendEvent(later.id(), T0, "Observation/1", 100, T0);
    s.appendEvent(ws.id(), T0, "Observation/1", 100, T0);
    assertThat(s.claimDue("a", T0, LEASE, PROBE, Set.of(), 10)).extracting(SubscriptionRecord::id)
        .containsExactlyInAnyOrder(pending.id(), beat.id());
    assertThat(s.claimDue("b", T0, LEASE, PROBE, Set.of(ws.id()), 10)).extracting(SubscriptionRecord::id)
        .containsExactly(ws.id());
    assertThat(s.renewLeases("a", T0.plusSeconds(30))).isEqualTo(2);
    assertThat(s.claimDue("b", T0.plusSeconds(20), LEASE, PROBE, Set.of(), 10)).isEmpty();
    assertThat(s.claimDue("b", T0.plusSeconds(61), LEASE, PROBE, Set.of(), 10))
        .extracting(SubscriptionRecord::id).containsExactlyInAnyOrder(later.id(), pending.id(), beat.id());
  }

  @Test
  void delete_takesEventsAndTokensWithIt_andSessionDeleteTakesOnlyThatSession() {
    SubscriptionStore s = newStore();
    SubscriptionRecord a = record(principal("app", "dr.a", "s1")).build();
    SubscriptionRecord b = record(principal("app", "dr.a", "s2")).build();
    SubscriptionRecord c = record(principal("emr", "dr.a", null)).build();
    for (SubscriptionRecord r : List.of(a, b, c)) {
      s.create(r, 100, 100, 100);
    }
    s.appendEvent(c.id(), T0, "Observation/1", 100, T0);
    s.putBindingToken("tok-c", c.id(), T0.plusSeconds(300), 5);
    assertThat(s.deleteBySubscriberSession("s1")).containsExactly(a.id());
    assertThat(s.find(a.id())).isEmpty();
    assertThat(s.find(b.id())).isPresent();
    assertThat(s.delete(c.id())).isTrue();
    assertThat(s.delete(c.id())).isFalse();
    assertThat(s.events(c.id(), 1, 100, 100)).isEmpty();
    assertThat(s.takeBindingToken("tok-c", T0)).isEmpty();
  }

  @Test
  void bindingTokens_singleUseUnexpiredAndBoundedPerSubscription() throws Exception {
    SubscriptionStore[] nodes = newStores();
    SubscriptionRecord r = record(principal("emr", "dr.a", null)).build();
    nodes[0].create(r, 100, 100, 100);
    for (int i = 0; i < 7; i++) {
      nodes[0].putBindingToken("t" + i, r.id(), T0.plusSeconds(300), 5);
    }
    assertThat(nodes[1].takeBindingToken("t0", T0)).isEmpty(); // pushed out by the bound
    assertThat(nodes[1].takeBindingToken("t6", T0.plusSeconds(301))).isEmpty(); // expired
    List<Boolean> taken = together(6, () -> nodes[(int) (Thread.currentThread().getId() % 2)]
        .takeBindingToken("t5", T0).isPresent());
    assertThat(taken.stream().filter(x -> x).count()).isEqualTo(1);
    assertThat(nodes[0].takeBindingToken("t4", T0)).hasValue(r.id());
    assertThatThrownBy(() -> nodes[0].putBindingToken("x", "000000000000000000000000", T0, 5))
        .isInstanceOf(SubscriptionException.class);
  }

  @Test
  void purge_dropsExpiredTokensAndOldEvents_keepsTheRest() {
    SubscriptionStore s = newStore();
    SubscriptionRecord r = record(principal("emr", "dr.a", null)).build();
    s.create(r, 100, 100, 100);
    s.appendEvent(r.id(), T0, "Observation/1", 100, T0.minusSeconds(1));
    s.appendEvent(r.id(), T0.plusSeconds(100), "Observation/2", 100, T0.minusSeconds(1));
    s.putBindingToken("old", r.id(), T0.plusSeconds(10), 5);
    s.putBindingToken("new", r.id(), T0.plusSeconds(1000), 5);
    assertThat(s.purge(T0.plusSeconds(50), T0.plusSeconds(50))).isEqualTo(2);
    assertThat(s.events(r.id(), 1, 100, 100)).extracting(SubscriptionEvent::number).containsExactly(2L);
    assertThat(s.takeBindingToken("new", T0.plusSeconds(60))).hasValue(r.id());
    assertThat(s.find(r.id())).isPresent();
  }
}
