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
  default void create(StoredContext context) {
    create(context, Integer.MAX_VALUE, Long.MAX_VALUE);
  }

  /**
   * Stores a new context unless its owner ({@link StoredContext#ownerKey()}) would then hold
   * more than {@code maxPerOwner} contexts or more than {@code maxBytesPerOwner} bytes
   * ({@link StoredContext#sizeBytes()} summed). Contexts count until they are deleted (an expired
   * one until the next sweep). The check and the insert are one atomic step on every node: two
   * creates of one owner at once never both pass the last place. With both limits at their
   * maximum value no share is checked.
   *
   * @throws IllegalStateException if the launch id or session id is already in use
   * @throws ContextStoreFullException if the store is at capacity
   * @throws OwnerShareExceededException if the owner's share is used up
   */
  void create(StoredContext context, int maxPerOwner, long maxBytesPerOwner);

  /**
   * The live (unexpired) context of a launch id. Its {@link StoredContext#resources()} may omit
   * what {@link #addResource} recorded since; {@link #delete} and {@link #expired} return
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

  /** What {@link #chargeWrite} did. */
  enum WriteCharge {
    /** Counted against the session's budget. */
    CHARGED,
    /** Refused: it would take the session past {@code maxBytes} or {@code maxResources}. */
    OVER_BUDGET,
    /** Refused: no live session of that id. */
    NO_SESSION
  }

  /**
   * Counts a write an app makes after launch ({@code bytes} of request body, {@code resources}
   * new resources) against its live session's budget, or refuses it, in one atomic step on every
   * node: writes of one session on several nodes at once never pass the budget together. The
   * count goes with the context.
   */
  WriteCharge chargeWrite(String sessionId, long bytes, int resources, long maxBytes,
      long maxResources, Instant now);

  /** Gives back a charge whose write failed (never below zero). */
  void refundWrite(String sessionId, long bytes, int resources);

  /** Removes and returns the context of a launch id, live or expired. */
  Optional<StoredContext> delete(String launchId);

  /**
   * Up to {@code max} contexts expired at {@code now}, oldest first, with every resource recorded
   * for them, without removing them. The SoFA deletes an expired context's resources first and
   * then the context ({@link #delete}), so that a node stopping in between leaves the context to
   * the next sweep instead of resources that nothing names any more. Several nodes may list the
   * same context; {@link #delete} gives it to one of them.
   */
  List<StoredContext> expired(Instant now, int max);

  /** How many contexts are held, expired ones not yet removed included. */
  int size();
}
