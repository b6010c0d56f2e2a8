package ca.halo.server.context;

import ca.halo.server.internal.ShardedMap;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default {@link LaunchContextStore}: two concurrent maps, bounded to {@code capacity}
 * contexts. Expired contexts are invisible to {@code find} at once and removed by
 * {@link #expired} and {@link #delete}, which the SoFA calls on a schedule.
 *
 * <p>Resources recorded by {@link #addResource} are kept in a set of their own per context (one
 * insert each, never a copy of the context), returned with the context by {@link #delete} and
 * {@link #expired}; {@link #find} returns the context as {@code $set-context} stored it.
 *
 * <p>Thread-safe. Contents are lost on restart (a PoC then sets its context again).
 */
public final class InMemoryLaunchContextStore implements LaunchContextStore {
  private final int capacity;
  // split 64 ways: a ConcurrentHashMap grows all at once, inside create's lock (issue 18)
  private final ShardedMap<String, StoredContext> byLaunch = ShardedMap.concurrent();
  private final ShardedMap<String, String> launchBySession = ShardedMap.concurrent();
  /**
   * Contexts held; changed only under this store's lock (summing 64 shards each time showed in
   * create's profile).
   */
  private final AtomicInteger count = new AtomicInteger();
  private final Map<String, java.util.Set<String>> added = new ConcurrentHashMap<>();
  /** Per owner: contexts and bytes held; changed only under this store's lock. */
  private final Map<String, long[]> owners = new java.util.HashMap<>();
  /** Per session: bytes written and resources created after launch; under this store's lock. */
  private final ShardedMap<String, long[]> writes = ShardedMap.plain();

  public InMemoryLaunchContextStore(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.capacity = capacity;
  }

  @Override
  public synchronized void create(StoredContext context, int maxPerOwner, long maxBytesPerOwner) {
    if (count.get() >= capacity) {
      throw new ContextStoreFullException(capacity);
    }
    if (byLaunch.containsKey(context.launchId())
        || launchBySession.containsKey(context.sessionId())) {
      throw new IllegalStateException("launch id or session id already in use");
    }
    long[] used = owners.getOrDefault(context.ownerKey(), new long[2]);
    if (used[0] + 1 > maxPerOwner || used[1] + context.sizeBytes() > maxBytesPerOwner) {
      throw new OwnerShareExceededException(maxPerOwner, maxBytesPerOwner);
    }
    // counted first and undone whole on any failure (a map growing can run out of memory), so
    // that the count never falls below the contexts held and the capacity bound holds
    count.incrementAndGet();
    boolean stored = false;
    try {
      owners.put(context.ownerKey(), new long[] {used[0] + 1, used[1] + context.sizeBytes()});
      byLaunch.put(context.launchId(), context);
      launchBySession.put(context.sessionId(), context.launchId());
      stored = true;
    } finally {
      if (!stored) {
        launchBySession.remove(context.sessionId());
        byLaunch.remove(context.launchId());
        if (used[0] == 0) {
          owners.remove(context.ownerKey());
        } else {
          owners.put(context.ownerKey(), used);
        }
        count.decrementAndGet();
      }
    }
  }

  @Override
  public Optional<StoredContext> find(String launchId, Instant now) {
    StoredContext c = launchId == null ? null : byLaunch.get(launchId);
    return c == null || c.isExpired(now) ? Optional.empty() : Optional.of(c);
  }

  @Override
  public Optional<StoredContext> findBySession(String sessionId, Instant now) {
    String launch = sessionId == null ? null : launchBySession.get(sessionId);
    return launch == null ? Optional.empty() : find(launch, now);
  }

  @Override
  public synchronized boolean addResource(String sessionId, String reference, Instant now) {
    // under the store's lock, as delete is: a reference is either added to a live context's set
    // or refused, never added to the set of a context being deleted
    String launch = launchBySession.get(sessionId);
    StoredContext c = launch == null ? null : byLaunch.get(launch);
    if (c == null || c.isExpired(now)) {
      return false;
    }
    // made on the first app write: most contexts never see one, and an empty set for each was
    // about 120 bytes of every live context (issue 18)
    added.computeIfAbsent(launch, k -> ConcurrentHashMap.newKeySet()).add(reference);
    return true;
  }

  @Override
  public synchronized WriteCharge chargeWrite(String sessionId, long bytes, int resources,
      long maxBytes, long maxResources, Instant now) {
    if (sessionId == null || findBySession(sessionId, now).isEmpty()) {
      return WriteCharge.NO_SESSION;
    }
    long[] used = writes.getOrDefault(sessionId, new long[2]);
    if (used[0] + bytes > maxBytes || used[1] + resources > maxResources) {
      return WriteCharge.OVER_BUDGET;
    }
    writes.put(sessionId, new long[] {used[0] + bytes, used[1] + resources});
    return WriteCharge.CHARGED;
  }

  @Override
  public synchronized void refundWrite(String sessionId, long bytes, int resources) {
    if (sessionId != null) {
      writes.computeIfPresent(sessionId, (k, u) ->
          new long[] {Math.max(0, u[0] - bytes), Math.max(0, u[1] - resources)});
    }
  }

  @Override
  public synchronized Optional<StoredContext> delete(String launchId) {
    StoredContext c = launchId == null ? null : byLaunch.remove(launchId);
    java.util.Set<String> more = launchId == null ? null : added.remove(launchId);
    if (c == null) {
      return Optional.empty();
    }
    owners.computeIfPresent(c.ownerKey(), (k, u) -> u[0] <= 1 ? null
        : new long[] {u[0] - 1, Math.max(0, u[1] - c.sizeBytes())});
    launchBySession.remove(c.sessionId());
    writes.remove(c.sessionId());
    count.decrementAndGet();
    return Optional.of(more == null || more.isEmpty() ? c : c.withResources(more));
  }

  /**
   * Walks the contexts without the store's lock (the maps' iterators are weakly consistent), so
   * that a sweep over 600,000 contexts does not hold up every {@code $set-context} for tens of
   * milliseconds (issue 18); only the expired ones found are read again under the lock. A context
   * that expired is never changed again ({@link #addResource} refuses it), so what the walk saw
   * of it stays true; one deleted meanwhile is left out.
   */
  @Override
  public List<StoredContext> expired(Instant now, int max) {
    List<StoredContext> found = new ArrayList<>();
    byLaunch.forEachValue(c -> {
      if (c.isExpired(now)) {
        found.add(c);
      }
    });
    found.sort(java.util.Comparator.comparing(StoredContext::expiresAt));
    List<StoredContext> out = new ArrayList<>(Math.min(found.size(), max));
    synchronized (this) {
      for (StoredContext c : found) {
        if (out.size() == max) {
          break;
        }
        if (byLaunch.get(c.launchId()) != c) {
          continue;
        }
        java.util.Set<String> more = added.get(c.launchId());
        out.add(more == null || more.isEmpty() ? c : c.withResources(List.copyOf(more)));
      }
    }
    return out;
  }

  @Override
  public int size() {
    return count.get();
  }
}
