package ca.halo.server.subscription;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Where the subscription engine keeps subscriptions, their numbered events, websocket binding
 * tokens and the leases that say which node delivers what. Every node of a SoFA shares one store;
 * {@link InMemorySubscriptionStore} is the single-node default, a database store lets nodes come
 * and go (a restart loses nothing: subscriptions resume and undelivered events arrive).
 *
 * <p>Each method is one atomic step, made so with the store's own means (a transaction, a row
 * lock, a conditional update), never by reading then writing in Java. Implementations are
 * thread-safe; times come from the caller (its injected {@code Clock}), so nodes must keep their
 * clocks in step (NTP).
 */
public interface SubscriptionStore {

  /**
   * Stores a new subscription, unless that would pass a bound: atomically counts and inserts.
   *
   * @throws SubscriptionException 503 when {@code maxTotal} are held, 429 when its quota key holds
   *     {@code maxPerQuota} or (for a launch token's) its owner key holds {@code maxPerOwner}
   */
  void create(SubscriptionRecord record, int maxTotal, int maxPerQuota, int maxPerOwner);

  Optional<SubscriptionRecord> find(String id);

  /** Which of {@code ids} are held (one round trip in a database store). */
  default java.util.Set<String> known(Collection<String> ids) {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (String id : ids) {
      if (find(id).isPresent()) {
        out.add(id);
      }
    }
    return out;
  }

  /** The subscriptions of an owner key, oldest first. */
  List<SubscriptionRecord> findByOwner(String ownerKey);

  /**
   * The subscriptions not {@code off} (nor lapsed) whose filters let a change of a
   * {@code resourceType} resource in {@code patient}'s compartment (may be null) in launch
   * {@code launch} (may be null) through: an absent filter matches anything.
   */
  List<SubscriptionRecord> matching(String resourceType, String patient, String launch);

  /**
   * Replaces a subscription by {@code change} applied to its current state, atomically (no other
   * change interleaves). The event counter ({@code lastEvent}) is the store's: a change to it is
   * ignored. Returns the new state, or empty when it is gone.
   */
  Optional<SubscriptionRecord> update(String id, UnaryOperator<SubscriptionRecord> change);

  /** Removes a subscription with its events and binding tokens; false if it was gone. */
  boolean delete(String id);

  /** Removes every subscription whose subscriber belongs to launch session {@code sessionId}. */
  List<String> deleteBySubscriberSession(String sessionId);

  /**
   * Numbers the next event of a subscription: one more than its last, gap-free and never twice,
   * whichever node calls; keeps at most {@code maxEvents} and none older than {@code keepAfter}.
   *
   * @return the new event's number, or 0 when the subscription is gone, off or lapsed
   */
  long appendEvent(String id, Instant timestamp, String focus, int maxEvents, Instant keepAfter);

  /** The retained events numbered {@code since..until} (inclusive), oldest first, at most {@code max}. */
  List<SubscriptionEvent> events(String id, long since, long until, int max);

  /**
   * Leases to {@code node} up to {@code max} subscriptions that have work now ({@link
   * SubscriptionRecord#due}) and whose lease is free or expired: rest-hook ones, and websocket ones
   * among {@code websockets} (those this node holds a socket for). Two nodes never hold one lease.
   */
  List<SubscriptionRecord> claimDue(String node, Instant now, Duration lease, Duration probeEvery,
      Collection<String> websockets, int max);

  /** Leases one subscription to {@code node} now, whatever its work (a bind, a renewal); false if held elsewhere. */
  boolean claim(String id, String node, Instant now, Duration lease);

  /** Extends every lease {@code node} holds to {@code until} (its heartbeat); returns how many. */
  int renewLeases(String node, Instant until);

  /** Gives a lease back (the node is done with it for now); nothing happens if another node holds it. */
  void release(String id, String node);

  /** Keeps a websocket binding token: single use, until {@code expires}; a subscription keeps at most {@code maxPerSubscription}. */
  void putBindingToken(String token, String subscriptionId, Instant expires, int maxPerSubscription);

  /** Takes a binding token (once): the subscription it binds, when it is known and unexpired. */
  Optional<String> takeBindingToken(String token, Instant now);

  /** How many subscriptions are held. */
  int size();

  /**
   * How many subscriptions are held, by status ({@code requested}, {@code active},
   * {@code error}, {@code off}), for metrics. The default counts nothing.
   */
  default java.util.Map<String, Integer> countByStatus() {
    return java.util.Map.of();
  }

  /** Deletes expired binding tokens and events past {@code keepAfter}; returns how many rows went. */
  int purge(Instant now, Instant keepAfter);
}
