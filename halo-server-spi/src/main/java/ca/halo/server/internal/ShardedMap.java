package ca.halo.server.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A hash map split {@value #SHARDS} ways by key, so that it grows a {@value #SHARDS}th at a time.
 *
 * <p>A {@link HashMap} or {@link ConcurrentHashMap} grows by moving every entry in one call: at
 * 600,000 entries that is tens of milliseconds, spent under whatever lock the caller holds, while
 * every other writer waits (the 60 s tail of issue 18). Here each growth moves one shard's
 * entries.
 *
 * <p>Thread-safe as the maps it is made of: {@link #concurrent()} as a ConcurrentHashMap (each
 * method atomic for its key), {@link #plain()} not at all (the caller's lock guards it). Null keys
 * are refused.
 */
public final class ShardedMap<K, V> {
  /** Shards per map: 64 empty maps are 3 KB, and a million entries grow 16,000 at a time. */
  static final int SHARDS = 64;
  private final Map<K, V>[] shards;

  @SuppressWarnings("unchecked")
  private ShardedMap(Supplier<Map<K, V>> make) {
    shards = new Map[SHARDS];
    for (int i = 0; i < SHARDS; i++) {
      shards[i] = make.get();
    }
  }

  /** Shards that are ConcurrentHashMaps. */
  public static <K, V> ShardedMap<K, V> concurrent() {
    return new ShardedMap<>(ConcurrentHashMap::new);
  }

  /** Shards that are HashMaps: the caller's lock guards every call. */
  public static <K, V> ShardedMap<K, V> plain() {
    return new ShardedMap<>(HashMap::new);
  }

  /**
   * The shard of a key hash, in [0, {@value #SHARDS}): the top bits of a multiplicative hash.
   * The maps inside index by the low bits of the same hash, so a shard's keys still spread over
   * its whole table.
   */
  public static int shardOf(int hash) {
    return (hash * 0x9E3779B9) >>> (Integer.SIZE - Integer.numberOfTrailingZeros(SHARDS));
  }

  private Map<K, V> shard(Object key) {
    return shards[shardOf(Objects.requireNonNull(key, "key").hashCode())];
  }

  public V get(Object key) {
    return shard(key).get(key);
  }

  public V getOrDefault(Object key, V otherwise) {
    return shard(key).getOrDefault(key, otherwise);
  }

  public boolean containsKey(Object key) {
    return shard(key).containsKey(key);
  }

  public V put(K key, V value) {
    return shard(key).put(key, value);
  }

  public V remove(Object key) {
    return shard(key).remove(key);
  }

  public V computeIfAbsent(K key, Function<? super K, ? extends V> make) {
    return shard(key).computeIfAbsent(key, make);
  }

  public V computeIfPresent(K key, BiFunction<? super K, ? super V, ? extends V> change) {
    return shard(key).computeIfPresent(key, change);
  }

  /** Entries in all shards; for concurrent shards a sum of moving counts, as theirs is. */
  public int size() {
    long n = 0;
    for (Map<K, V> m : shards) {
      n += m.size();
    }
    return (int) Math.min(Integer.MAX_VALUE, n);
  }

  /**
   * Every value, shard by shard; for concurrent shards weakly consistent, as their iterators are
   * (never an error, each value at most once, changes during the walk may or may not be seen).
   */
  public void forEachValue(Consumer<? super V> action) {
    for (Map<K, V> m : shards) {
      m.values().forEach(action);
    }
  }
}
