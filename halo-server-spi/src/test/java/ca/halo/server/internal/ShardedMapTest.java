package ca.halo.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The 64-way map against a plain HashMap, and how its keys spread over the shards. */
class ShardedMapTest {

  @Property(tries = 200)
  void randomOperations_agreeWithAHashMap(@ForAll long seed, @ForAll boolean concurrent,
      @ForAll @IntRange(min = 1, max = 3_000) int keys) {
    Random r = new Random(seed);
    ShardedMap<String, Integer> m = concurrent ? ShardedMap.concurrent() : ShardedMap.plain();
    Map<String, Integer> expected = new HashMap<>();
    for (int op = 0; op < 5_000; op++) {
      String k = "k" + r.nextInt(keys);
      int v = r.nextInt();
      switch (r.nextInt(6)) {
        case 0 -> assertThat(m.put(k, v)).isEqualTo(expected.put(k, v));
        case 1 -> assertThat(m.remove(k)).isEqualTo(expected.remove(k));
        case 2 -> assertThat(m.computeIfAbsent(k, x -> v)).isEqualTo(expected.computeIfAbsent(k, x -> v));
        case 3 -> assertThat(m.computeIfPresent(k, (x, old) -> old % 3 == 0 ? null : old + 1))
            .isEqualTo(expected.computeIfPresent(k, (x, old) -> old % 3 == 0 ? null : old + 1));
        case 4 -> assertThat(m.getOrDefault(k, -1)).isEqualTo(expected.getOrDefault(k, -1));
        default -> {
          assertThat(m.containsKey(k)).isEqualTo(expected.containsKey(k));
          assertThat(m.get(k)).isEqualTo(expected.get(k));
        }
      }
    }
    assertThat(m.size()).isEqualTo(expected.size());
    List<Integer> values = new ArrayList<>();
    m.forEachValue(values::add);
    assertThat(values).containsExactlyInAnyOrderElementsOf(expected.values());
  }

  @Test
  void keys_spreadOverEveryShard_andIdsThatShareTheirLowBitsStillDo() {
    int[] perShard = new int[ShardedMap.SHARDS];
    int[] lowBitsTwins = new int[ShardedMap.SHARDS];
    Random r = new Random(7);
    int n = 64_000;
    for (int i = 0; i < n; i++) {
      perShard[ShardedMap.shardOf(Integer.toHexString(r.nextInt()).hashCode())]++;
      // hashes equal in their low 16 bits: what a HashMap indexes a small table by
      lowBitsTwins[ShardedMap.shardOf((i << 16) | 0x1234)]++;
    }
    int mean = n / ShardedMap.SHARDS;
    for (int s = 0; s < ShardedMap.SHARDS; s++) {
      assertThat(perShard[s]).as("shard " + s).isBetween(mean * 8 / 10, mean * 12 / 10);
      assertThat(lowBitsTwins[s]).as("shard " + s).isBetween(mean * 8 / 10, mean * 12 / 10);
    }
  }

  @Test
  void nullKey_refused() {
    ShardedMap<String, String> m = ShardedMap.concurrent();
    assertThatThrownBy(() -> m.put(null, "v")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> m.get(null)).isInstanceOf(NullPointerException.class);
  }
}
