package ca.halo.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

class ExpiringTableTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));

  private Instant in(int seconds) {
    return clock.instant().plusSeconds(seconds);
  }

  @Test
  void put_full_refusedNothingEvictedUntilEntriesExpire() {
    ExpiringTable<String, String> t = ExpiringTable.<String, String>builder(clock, 3).build();
    assertThat(t.put("a", "1", in(10))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("b", "1", in(20))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("c", "1", in(30))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("d", "1", in(30))).isEqualTo(ExpiringTable.Put.FULL);
    assertThat(t.get("a")).contains("1");
    assertThat(t.put("a", "2", in(10))).isEqualTo(ExpiringTable.Put.ADDED); // replacing needs no room
    clock.advance(Duration.ofSeconds(10));
    assertThat(t.get("a")).isEmpty();
    assertThat(t.put("d", "1", in(30))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.size()).isEqualTo(3);
  }

  @Test
  void putIfAbsent_liveKey_existsExpiredKey_added() {
    ExpiringTable<String, String> t = ExpiringTable.<String, String>builder(clock, 10).build();
    assertThat(t.putIfAbsent("j", "x", in(5))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.putIfAbsent("j", "y", in(5))).isEqualTo(ExpiringTable.Put.EXISTS);
    clock.advance(Duration.ofSeconds(6));
    String seen = t.compute("j", s -> s.value().orElse("none"));
    assertThat(seen).isEqualTo("none");
    assertThat(t.putIfAbsent("j", "y", in(5))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.size()).isEqualTo(1);
  }

  @Test
  void share_oneOwnerCannotFillTable_othersStillFit() {
    ExpiringTable<String, String> t = ExpiringTable.<String, String>builder(clock, 10)
        .shares(v -> List.of(v), o -> 2).build();
    assertThat(t.put("1", "mallory", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("2", "mallory", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("3", "mallory", in(60))).isEqualTo(ExpiringTable.Put.OVER_SHARE);
    assertThat(t.put("4", "alice", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.remove("1")).contains("mallory");
    assertThat(t.remove("1")).isEmpty();
    assertThat(t.put("3", "mallory", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
    clock.advance(Duration.ofSeconds(61));
    t.expireNow();
    assertThat(t.size()).isZero();
    assertThat(t.put("5", "mallory", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
    assertThat(t.put("6", "mallory", in(60))).isEqualTo(ExpiringTable.Put.ADDED);
  }

  @Test
  void size_manyThreadsRandomOperations_staysExactAndBounded() throws Exception {
    ExpiringTable<Integer, String> t = ExpiringTable.<Integer, String>builder(clock, 500)
        .shares(v -> List.of(v), o -> 200).build();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<?>> fs = new ArrayList<>();
    for (int th = 0; th < 4; th++) {
      fs.add(pool.submit(() -> {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < 20_000; i++) {
          int k = r.nextInt(2000);
          switch (r.nextInt(4)) {
            case 0 -> t.put(k, "o" + r.nextInt(4), in(1 + r.nextInt(30)));
            case 1 -> t.putIfAbsent(k, "o" + r.nextInt(4), in(1 + r.nextInt(30)));
            case 2 -> t.remove(k);
            default -> t.get(k);
          }
          assertThat(t.size()).isLessThanOrEqualTo(500);
          if (i % 1000 == 0) {
            clock.advance(Duration.ofSeconds(1));
          }
        }
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    pool.shutdown();
    t.expireNow();
    int live = 0;
    for (int k = 0; k < 2000; k++) {
      live += t.get(k).isPresent() ? 1 : 0;
    }
    assertThat(t.size()).isEqualTo(live);
    clock.advance(Duration.ofMinutes(1));
    t.expireNow();
    assertThat(t.size()).isZero();
  }
}
