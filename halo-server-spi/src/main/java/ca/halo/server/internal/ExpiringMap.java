package ca.halo.server.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.function.BiFunction;

/**
 * A bounded map whose entries vanish at their expiry: the older, nullable face of
 * {@link ExpiringTable} (kept for existing callers; new code uses {@link ExpiringTable}, which
 * says why a write was refused). Thread-safe; expiry is O(1) amortised per operation and never
 * scans the map under a lock.
 */
public final class ExpiringMap<K, V> {
  private final ExpiringTable<K, V> table;

  public ExpiringMap(int capacity, Clock clock) {
    this.table = ExpiringTable.<K, V>builder(clock, capacity).build();
  }

  /** @return false if the map is full of live entries (nothing was written) */
  public boolean put(K key, V value, Instant until) {
    return table.put(key, value, until) == ExpiringTable.Put.ADDED;
  }

  /** The live value, or null. */
  public V get(K key) {
    return table.get(key).orElse(null);
  }

  /** Removes the key and returns its live value, or null. */
  public V remove(K key) {
    return table.remove(key).orElse(null);
  }

  /**
   * Atomically replaces the live value (null if none): the function may return null to remove
   * it; a non-null result is kept until {@code until}.
   */
  public V compute(K key, BiFunction<K, V, V> f, Instant until) {
    return table.compute(key, slot -> {
      V updated = f.apply(key, slot.value().orElse(null));
      if (updated == null) {
        slot.remove();
      } else {
        slot.set(updated, until);
      }
      return updated;
    });
  }

  public int size() {
    return table.size();
  }
}
