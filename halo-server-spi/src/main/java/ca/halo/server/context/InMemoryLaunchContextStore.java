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
 * {@link #removeExpired(Instant)}, which the SoFA calls on a schedule.
 *
 * <p>Resources recorded by {@link #addResource} are kept in a set of their own per context (one
 * insert each, never a copy of the context), returned with the context by {@link #delete} and
 * {@link #removeExpired}; {@link #find} returns the context as {@code $set-context} stored it.
 *
 * <p>Thread-safe. Contents are lost on restart (a PoC then sets its context again).
 */
public final class InMemoryLaunchContextStore implements LaunchContextStore {
  private final int capacity;
  private final Map<String, StoredContext> byLaunch = new ConcurrentHashMap<>();
  private final Map<String, String> launchBySession = new ConcurrentHashMap<>();
  private final Map<String, java.util.Set<String>> added = new ConcurrentHashMap<>();

  public InMemoryLaunchContextStore(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.capacity = capacity;
  }

  @Override
  public synchronized void create(StoredContext context) {
    if (byLaunch.size() >= capacity) {
      throw new ContextStoreFullException(capacity);
    }
    if (byLaunch.containsKey(context.launchId())
        || launchBySession.containsKey(context.sessionId())) {
      throw new IllegalStateException("launch id or session id already in use");
    }
    added.put(context.launchId(), ConcurrentHashMap.newKeySet());
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
  public boolean addResource(String sessionId, String reference, Instant now) {
    String launch = launchBySession.get(sessionId);
    if (launch == null) {
      return false;
    }
    StoredContext c = byLaunch.get(launch);
    java.util.Set<String> set = added.get(launch);
    if (c == null || set == null || c.isExpired(now)) {
      return false;
    }
    set.add(reference);
    // a delete that ran meanwhile took the set away: the caller must undo its write
    return added.get(launch) == set;
  }

  @Override
  public synchronized Optional<StoredContext> delete(String launchId) {
    StoredContext c = byLaunch.remove(launchId);
    java.util.Set<String> more = added.remove(launchId);
    if (c == null) {
      return Optional.empty();
    }
    launchBySession.remove(c.sessionId());
    return Optional.of(more == null || more.isEmpty() ? c : c.withResources(more));
  }

  @Override
  public synchronized List<StoredContext> removeExpired(Instant now) {
    List<StoredContext> out = new ArrayList<>();
    for (StoredContext c : List.copyOf(byLaunch.values())) {
      if (c.isExpired(now)) {
        delete(c.launchId()).ifPresent(out::add);
      }
    }
    return out;
  }

  @Override
  public int size() {
    return byLaunch.size();
  }
}
