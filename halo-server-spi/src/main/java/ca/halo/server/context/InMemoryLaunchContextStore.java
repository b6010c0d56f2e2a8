package ca.halo.server.context;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

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
  private final Map<String, StoredContext> byLaunch = new ConcurrentHashMap<>();
  private final Map<String, String> launchBySession = new ConcurrentHashMap<>();
  private final Map<String, java.util.Set<String>> added = new ConcurrentHashMap<>();
  /** Per owner: contexts and bytes held; changed only under this store's lock. */
  private final Map<String, long[]> owners = new java.util.HashMap<>();
  /** Per session: bytes written and resources created after launch; under this store's lock. */
  private final Map<String, long[]> writes = new java.util.HashMap<>();

  public InMemoryLaunchContextStore(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.capacity = capacity;
  }

  @Override
  public synchronized void create(StoredContext context, int maxPerOwner, long maxBytesPerOwner) {
    if (byLaunch.size() >= capacity) {
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
    owners.put(context.ownerKey(), new long[] {used[0] + 1, used[1] + context.sizeBytes()});
    byLaunch.put(context.launchId(), context);
    launchBySession.put(context.sessionId(), context.launchId());
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
    return Optional.of(more == null || more.isEmpty() ? c : c.withResources(more));
  }

  @Override
  public synchronized List<StoredContext> expired(Instant now, int max) {
    List<StoredContext> out = new ArrayList<>();
    for (StoredContext c : byLaunch.values()) {
      if (c.isExpired(now)) {
        java.util.Set<String> more = added.get(c.launchId());
        out.add(more == null || more.isEmpty() ? c : c.withResources(List.copyOf(more)));
      }
    }
    out.sort(java.util.Comparator.comparing(StoredContext::expiresAt));
    return out.size() > max ? new ArrayList<>(out.subList(0, max)) : out;
  }

  @Override
  public int size() {
    return byLaunch.size();
  }
}
