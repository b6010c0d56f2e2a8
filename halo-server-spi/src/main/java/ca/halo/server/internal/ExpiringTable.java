package ca.halo.server.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * A strictly bounded table whose entries vanish at their own expiry: the security state of the
 * authorization server (pending sign-ins, codes, grants, revocations, seen assertion ids).
 *
 * <pre>{@code
 * ExpiringTable<String, String> t = ExpiringTable.<String, String>builder(clock, 100_000).build();
 * if (t.putIfAbsent(jti, client, until) != ExpiringTable.Put.ADDED) { ... refuse ... }
 * }</pre>
 *
 * <p>Fails closed: a write that would add a key beyond {@code capacity}, or beyond the share of
 * one owner (an address, a client, a user), is refused and reported, never dropped silently, and
 * nothing is ever evicted to make room. Expiry costs O(1) amortised per operation: entries sit in
 * Caffeine's timer wheel, driven by the injected {@link Clock} through a {@link Ticker}, and are
 * removed in the caller's thread (no background thread); no operation scans the table, and none
 * waits on a lock held for a scan. Each method is atomic for its key.
 */
public final class ExpiringTable<K, V> {
  /** What a write did. */
  public enum Put {
    /** The key was added (or replaced, for {@link #put}). */
    ADDED,
    /** A live entry already holds the key; nothing changed. */
    EXISTS,
    /** An owner of the value already holds its share of the table; nothing changed. */
    OVER_SHARE,
    /** The table is full of live entries; nothing changed. */
    FULL
  }

  private record Entry<V>(V value, long expiresAt) {}

  private final Cache<K, Entry<V>> cache;
  private final Clock clock;
  private final int capacity;
  private final Function<V, List<String>> owners;
  private final ToIntFunction<String> shareOf;
  private final AtomicInteger size = new AtomicInteger();
  private final ConcurrentHashMap<String, AtomicInteger> perOwner = new ConcurrentHashMap<>();

  private ExpiringTable(Builder<K, V> b) {
    this.clock = b.clock;
    this.capacity = b.capacity;
    this.owners = b.owners;
    this.shareOf = b.shareOf;
    Ticker ticker = () -> nanos(clock.instant());
    this.cache = Caffeine.newBuilder()
        .ticker(ticker)
        .executor(Runnable::run)
        .expireAfter(new Expiry<K, Entry<V>>() {
          @Override
          public long expireAfterCreate(K key, Entry<V> e, long now) {
            return Math.max(0, e.expiresAt() - now);
          }

          @Override
          public long expireAfterUpdate(K key, Entry<V> e, long now, long current) {
            return Math.max(0, e.expiresAt() - now);
          }

          @Override
          public long expireAfterRead(K key, Entry<V> e, long now, long current) {
            return current;
          }
        })
        .evictionListener((K key, Entry<V> e, RemovalCause cause) -> {
          if (e != null) {
            released(e.value());
          }
        })
        .build();
  }

  /** A table of at most {@code capacity} live entries, expiring by {@code clock}. */
  public static <K, V> Builder<K, V> builder(Clock clock, int capacity) {
    return new Builder<>(clock, capacity);
  }

  private static long nanos(Instant i) {
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  /** The live value of {@code key}. */
  public Optional<V> get(K key) {
    Entry<V> e = cache.getIfPresent(key);
    return e == null ? Optional.empty() : Optional.of(e.value());
  }

  /** Adds {@code key} unless a live entry holds it. Atomic check-and-insert. */
  public Put putIfAbsent(K key, V value, Instant until) {
    Put[] out = new Put[1];
    compute(key, slot -> {
      out[0] = slot.value().isPresent() ? Put.EXISTS : slot.set(value, until);
      return null;
    });
    return out[0];
  }

  /** Adds or replaces {@code key}. */
  public Put put(K key, V value, Instant until) {
    Put[] out = new Put[1];
    compute(key, slot -> {
      out[0] = slot.set(value, until);
      return null;
    });
    return out[0];
  }

  /** Removes {@code key}, returning its live value (to exactly one of concurrent callers). */
  public Optional<V> remove(K key) {
    return compute(key, slot -> {
      Optional<V> v = slot.value();
      slot.remove();
      return v;
    });
  }

  /** Live entries (exact: expired ones leave as they expire). */
  public int size() {
    return size.get();
  }

  /** Removes expired entries now (normally done along the way). */
  public void expireNow() {
    cache.cleanUp();
  }

  /**
   * Runs {@code m} atomically for {@code key}: it sees the live value and may set, replace or
   * remove it, once. Other keys must not be changed on this same table from inside {@code m}.
   * If a write of {@code m} is refused for room (the table's or an owner's share), expired
   * entries are cleared and {@code m} runs once more.
   */
  public <R> R compute(K key, Function<Slot<V>, R> m) {
    Objects.requireNonNull(key);
    for (int attempt = 0; ; attempt++) {
      Slot<V> slot = new Slot<>(this);
      Object[] out = new Object[1];
      cache.asMap().compute(key, (k, old) -> {
        slot.current = old == null ? null : old.value();
        slot.currentExpiresAt = old == null ? 0 : old.expiresAt();
        out[0] = m.apply(slot);
        if (slot.removed) {
          if (old != null) {
            released(old.value());
          }
          return null;
        }
        if (slot.next != null) {
          if (old == null) {
            return slot.next;
          }
          List<String> before = owners == null ? List.of() : owners.apply(old.value());
          List<String> after = owners == null ? List.of() : owners.apply(slot.next.value());
          if (!before.equals(after)) {
            releaseOwners(before);
          }
          return slot.next;
        }
        return old;
      });
      if (slot.refused == null || attempt > 0) {
        @SuppressWarnings("unchecked")
        R r = (R) out[0];
        return r;
      }
      cache.cleanUp(); // expired entries may still count: let them go, then try once more
    }
  }

  private Put reserve(V value, boolean adding, List<String> previousOwners) {
    if (adding) {
      int s;
      do {
        s = size.get();
        if (s >= capacity) {
          return Put.FULL;
        }
      } while (!size.compareAndSet(s, s + 1));
    }
    List<String> os = owners == null ? List.of() : owners.apply(value);
    if (!os.equals(previousOwners)) {
      for (int i = 0; i < os.size(); i++) {
        if (!reserveOwner(os.get(i))) {
          releaseOwners(os.subList(0, i));
          if (adding) {
            size.decrementAndGet();
          }
          return Put.OVER_SHARE;
        }
      }
    }
    return Put.ADDED;
  }

  private boolean reserveOwner(String owner) {
    int max = shareOf.applyAsInt(owner);
    boolean[] ok = new boolean[1];
    perOwner.compute(owner, (k, n) -> {
      AtomicInteger c = n == null ? new AtomicInteger() : n;
      if (c.get() < max) {
        c.incrementAndGet();
        ok[0] = true;
      }
      return c.get() == 0 ? null : c;
    });
    return ok[0];
  }

  private void released(V value) {
    size.decrementAndGet();
    if (owners != null) {
      releaseOwners(owners.apply(value));
    }
  }

  private void releaseOwners(List<String> os) {
    for (String o : os) {
      perOwner.computeIfPresent(o, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }
  }

  /** The view {@link #compute} gives of one key. */
  public static final class Slot<V> {
    private final ExpiringTable<?, V> table;
    private V current;
    private long currentExpiresAt;
    private Entry<V> next;
    private boolean removed;
    private Put refused;

    private Slot(ExpiringTable<?, V> table) {
      this.table = table;
    }

    /** The live value, if any. */
    public Optional<V> value() {
      return Optional.ofNullable(current);
    }

    /**
     * Sets the value and its expiry (an expiry already past removes it). Refused, leaving the
     * key as it was, when it would add a key to a full table or beyond an owner's share.
     */
    public Put set(V value, Instant until) {
      Objects.requireNonNull(value);
      if (!until.isAfter(table.clock.instant())) {
        remove();
        return Put.ADDED;
      }
      boolean adding = current == null && next == null;
      List<String> previous = table.owners == null || current == null ? List.of()
          : table.owners.apply(current);
      Put p = next != null ? Put.ADDED : table.reserve(value, adding, previous);
      if (p != Put.ADDED) {
        refused = p;
        return p;
      }
      next = new Entry<>(value, nanos(until));
      removed = false;
      return Put.ADDED;
    }

    /** Replaces the live value, keeping its expiry. */
    public Put replace(V value) {
      if (current == null) {
        throw new IllegalStateException("no live value to replace");
      }
      List<String> previous = table.owners == null ? List.of() : table.owners.apply(current);
      Put p = table.reserve(value, false, previous);
      if (p != Put.ADDED) {
        refused = p;
        return p;
      }
      next = new Entry<>(value, currentExpiresAt);
      removed = false;
      return Put.ADDED;
    }

    /** Removes the key. */
    public void remove() {
      if (next != null && current == null) {
        // a value set in this same computation: give its reservation back
        table.released(next.value());
      }
      next = null;
      removed = current != null;
    }
  }

  /** Builds an {@link ExpiringTable}. */
  public static final class Builder<K, V> {
    private final Clock clock;
    private final int capacity;
    private Function<V, List<String>> owners;
    private ToIntFunction<String> shareOf = o -> Integer.MAX_VALUE;

    private Builder(Clock clock, int capacity) {
      this.clock = Objects.requireNonNull(clock);
      if (capacity < 1) {
        throw new IllegalArgumentException("capacity must be at least 1");
      }
      this.capacity = capacity;
    }

    /**
     * Who holds each entry (an address, a client, a user) and how many live entries each may
     * hold: no owner may fill the table for everyone else.
     */
    public Builder<K, V> shares(Function<V, List<String>> owners, ToIntFunction<String> shareOf) {
      this.owners = Objects.requireNonNull(owners);
      this.shareOf = Objects.requireNonNull(shareOf);
      return this;
    }

    public ExpiringTable<K, V> build() {
      return new ExpiringTable<>(this);
    }
  }
}
