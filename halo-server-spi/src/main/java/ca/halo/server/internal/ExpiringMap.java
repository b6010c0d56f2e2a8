package ca.halo.server.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * A bounded map whose entries vanish at their expiry. Thread-safe (one lock). Expired entries are
 * swept on writes, so memory stays bounded by {@code capacity} live entries.
 */
public final class ExpiringMap<K, V> {
  private final int capacity;
  private final Clock clock;
  private final LinkedHashMap<K, Entry<V>> map = new LinkedHashMap<>();
  private int writesSinceSweep;

  private record Entry<V>(V value, Instant until) {}

  public ExpiringMap(int capacity, Clock clock) {
    this.capacity = capacity;
    this.clock = clock;
  }

  /** @return false if the map is full of live entries */
  public synchronized boolean put(K key, V value, Instant until) {
    if (++writesSinceSweep >= 64 || map.size() >= capacity) {
      sweep();
    }
    if (map.size() >= capacity && !map.containsKey(key)) {
      return false;
    }
    map.put(key, new Entry<>(value, until));
    return true;
  }

  public synchronized V get(K key) {
    Entry<V> e = map.get(key);
    if (e == null) {
      return null;
    }
    if (!clock.instant().isBefore(e.until())) {
      map.remove(key);
      return null;
    }
    return e.value();
  }

  public synchronized V remove(K key) {
    Entry<V> e = map.remove(key);
    return e == null || !clock.instant().isBefore(e.until()) ? null : e.value();
  }

  /** Atomically replaces a live value; the function may return null to remove it. */
  public synchronized V compute(K key, BiFunction<K, V, V> f) {
    V old = get(key);
    Entry<V> e = map.get(key);
    V updated = f.apply(key, old);
    if (updated == null) {
      map.remove(key);
    } else if (e != null) {
      map.put(key, new Entry<>(updated, e.until()));
    }
    return updated;
  }

  public synchronized void removeIf(java.util.function.Predicate<V> p) {
    map.values().removeIf(e -> p.test(e.value()));
  }

  public synchronized int size() {
    sweep();
    return map.size();
  }

  private void sweep() {
    writesSinceSweep = 0;
    Instant now = clock.instant();
    Iterator<Map.Entry<K, Entry<V>>> it = map.entrySet().iterator();
    while (it.hasNext()) {
      if (!now.isBefore(it.next().getValue().until())) {
        it.remove();
      }
    }
  }
}
