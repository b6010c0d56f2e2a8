package ca.halo.server.context;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where the SoFA keeps launch contexts. Every method is atomic.
 *
 * <p>Implementations are thread-safe. {@link InMemoryLaunchContextStore} is the default; a
 * jurisdiction running several SoFA nodes implements this on a shared store.
 */
public interface LaunchContextStore {
  /**
   * Stores a new context.
   *
   * @throws IllegalStateException if the launch id or session id is already in use
   * @throws ContextStoreFullException if the store is at capacity
   */
  void create(StoredContext context);

  /**
   * The live (unexpired) context of a launch id. Its {@link StoredContext#resources()} may omit
   * what {@link #addResource} recorded since; {@link #delete} and {@link #removeExpired} return
   * everything.
   */
  Optional<StoredContext> find(String launchId, Instant now);

  /** The live context of a session id. */
  Optional<StoredContext> findBySession(String sessionId, Instant now);

  /**
   * Records that {@code reference} was created in the session. Must cost O(1), not a copy of the
   * session's resources (an app may create many).
   *
   * @return false if the session no longer exists (cleared or expired)
   */
  boolean addResource(String sessionId, String reference, Instant now);

  /** Removes and returns the context of a launch id, live or expired. */
  Optional<StoredContext> delete(String launchId);

  /** Removes and returns every context expired at {@code now}. */
  List<StoredContext> removeExpired(Instant now);

  /** How many contexts are held, expired ones not yet removed included. */
  int size();
}
