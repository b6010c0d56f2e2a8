package ca.halo.server.context;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class InMemoryLaunchContextStoreTest extends LaunchContextStoreContract {
  @Override
  protected LaunchContextStore newStore(int capacity) {
    return new InMemoryLaunchContextStore(capacity);
  }

  /**
   * The sweep walks the contexts without the store's lock, while contexts are created and
   * deleted: every list it returns is sorted oldest first, within its max, of contexts expired
   * at its {@code now}, none deleted before the call began, each with the resources added to it.
   */
  @Test
  void expired_whileOtherThreadsCreateAndDelete_listsOnlyStoredExpiredContextsOldestFirst()
      throws Exception {
    InMemoryLaunchContextStore s = new InMemoryLaunchContextStore(100_000);
    Instant now = T0.plusSeconds(3600);
    for (int i = 0; i < 20_000; i++) {
      // every other context expired by now, at times in no order of creation
      Instant end = i % 2 == 0 ? now.minusSeconds(1 + (i * 7919L) % 3000) : now.plusSeconds(60);
      s.create(context("L" + i, "S" + i, end), Integer.MAX_VALUE, Long.MAX_VALUE);
      if (i % 10 == 0) {
        assertThat(s.addResource("S" + i, "Observation/o" + i, T0)).isTrue();
      }
    }
    Set<String> deleted = ConcurrentHashMap.newKeySet();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      Future<?> deleter = pool.submit(() -> {
        for (int i = 0; i < 20_000 && !stop.get(); i += 2) {
          s.delete("L" + i);
          deleted.add("L" + i);
        }
      });
      Future<?> creator = pool.submit(() -> {
        for (int i = 20_000; i < 40_000 && !stop.get(); i++) {
          s.create(context("L" + i, "S" + i, now.minusSeconds(5_000 + i % 100)),
              Integer.MAX_VALUE, Long.MAX_VALUE);
        }
      });
      int rounds = 0;
      while (!(deleter.isDone() && creator.isDone()) || rounds < 3) {
        Set<String> goneBefore = new HashSet<>(deleted);
        List<StoredContext> listed = s.expired(now, 500);
        assertThat(listed.size()).isLessThanOrEqualTo(500);
        for (int k = 0; k < listed.size(); k++) {
          StoredContext c = listed.get(k);
          assertThat(c.isExpired(now)).isTrue();
          assertThat(goneBefore).as("deleted before the sweep").doesNotContain(c.launchId());
          if (k > 0) {
            assertThat(c.expiresAt()).isAfterOrEqualTo(listed.get(k - 1).expiresAt());
          }
          int n = Integer.parseInt(c.launchId().substring(1));
          if (n < 20_000 && n % 10 == 0) {
            assertThat(c.resources()).contains("Observation/o" + n);
          }
        }
        rounds++;
      }
      deleter.get(30, TimeUnit.SECONDS);
      creator.get(30, TimeUnit.SECONDS);
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }
    // at rest: exactly the created-expired ones are left, oldest first
    List<StoredContext> all = s.expired(now, Integer.MAX_VALUE);
    List<String> ids = new ArrayList<>();
    all.forEach(c -> ids.add(c.launchId()));
    assertThat(ids).hasSize(20_000).allMatch(id -> Integer.parseInt(id.substring(1)) >= 20_000);
    assertThat(all.get(0).expiresAt()).isEqualTo(now.minusSeconds(5_099));
    assertThat(s.size()).isEqualTo(30_000);
  }

  /**
   * A create that fails half-way (a map growing runs out of memory: the one failure a real
   * caller cannot arrange, so a shard is swapped for one that fails) leaves nothing behind: not
   * the context, not its count, not its owner's share, and the capacity bound still holds
   * (found by the attacker's review of issue 18: the count fell below the contexts held).
   */
  @Test
  void create_failingHalfWay_leavesNoContextNoCountNoShare() throws Exception {
    InMemoryLaunchContextStore s = new InMemoryLaunchContextStore(2);
    java.lang.reflect.Field f = InMemoryLaunchContextStore.class.getDeclaredField("launchBySession");
    f.setAccessible(true);
    Object sharded = f.get(s);
    java.lang.reflect.Field shardsField = sharded.getClass().getDeclaredField("shards");
    shardsField.setAccessible(true);
    java.util.Map<?, ?>[] shards = (java.util.Map<?, ?>[]) shardsField.get(sharded);
    shards[ca.halo.server.internal.ShardedMap.shardOf("S-boom".hashCode())] =
        new ConcurrentHashMap<String, String>() {
          @Override
          public String put(String key, String value) {
            if (key.equals("S-boom")) {
              throw new OutOfMemoryError("a shard could not grow");
            }
            return super.put(key, value);
          }
        };

    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> s.create(context("L-boom", "S-boom"), 2, Long.MAX_VALUE))
        .isInstanceOf(OutOfMemoryError.class);

    assertThat(s.size()).isZero();
    assertThat(s.find("L-boom", T0)).isEmpty();
    assertThat(s.delete("L-boom")).isEmpty();
    assertThat(s.size()).isZero();
    // the owner's whole share (2) and the store's whole capacity (2) are still there, and no more
    s.create(context("L1", "S1"), 2, Long.MAX_VALUE);
    s.create(context("L2", "S2"), 2, Long.MAX_VALUE);
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> s.create(context("L3", "S3"), 10, Long.MAX_VALUE))
        .isInstanceOf(ContextStoreFullException.class);
    assertThat(s.size()).isEqualTo(2);
  }
}
