package ca.halo.server.postgres;

import ca.halo.server.postgres.internal.DatabaseErrors;
import ca.halo.server.postgres.internal.Sql;
import ca.halo.server.security.Principal;
import ca.halo.server.subscription.SubscriptionEvent;
import ca.halo.server.subscription.SubscriptionException;
import ca.halo.server.subscription.SubscriptionRecord;
import ca.halo.server.subscription.SubscriptionStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.Update;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/**
 * A {@link SubscriptionStore} in PostgreSQL (tables {@code halo_subscription},
 * {@code halo_subscription_event}, {@code halo_binding_token}): every SoFA node over one
 * database sees the same subscriptions, numbers events in one sequence per subscription, and
 * leases deliveries so that one node at a time works on a subscription; when a node stops its
 * leases expire and another takes over, missing nothing.
 *
 * <p>Each method is one transaction. Events are numbered under the subscription's row lock;
 * {@link #create} counts under a transaction-scoped advisory lock, so bounds hold across nodes;
 * {@link #claimDue} takes rows with {@code FOR UPDATE SKIP LOCKED}. Binding tokens are kept as
 * their SHA-256. A database that cannot be reached gives {@link SubscriptionException} 503.
 *
 * <p>Thread-safe.
 */
public final class PostgresSubscriptionStore implements SubscriptionStore {
  private static final long CREATE_LOCK = 0x48414c4f53554253L; // "HALOSUBS"
  private static final String COLUMNS = "id, owner_key, quota_key, subscriber::text AS subscriber,"
      + " subscription_json, channel, endpoint, headers, payload, timeout_seconds, heartbeat_seconds,"
      + " max_count, filter_type, filter_patient, filter_launch, status, error, last_event, last_sent,"
      + " failures, handshake_pending, lapsed, created_at, last_sent_at, last_probe_at, next_attempt_at";

  private final Jdbi jdbi;

  public PostgresSubscriptionStore(PostgresDatabase database) {
    this.jdbi = Objects.requireNonNull(database, "database").jdbi();
  }

  private <T> T tx(HandleCallback<T, RuntimeException> work) {
    return run(true, work);
  }

  /** One statement: no explicit transaction (one round trip less). */
  private <T> T one(HandleCallback<T, RuntimeException> work) {
    return run(false, work);
  }

  private <T> T run(boolean transaction, HandleCallback<T, RuntimeException> work) {
    try {
      return transaction ? jdbi.inTransaction(TransactionIsolationLevel.READ_COMMITTED, work)
          : jdbi.withHandle(work);
    } catch (JdbiException e) {
      if (DatabaseErrors.unavailable(e)) {
        throw new SubscriptionException(503, "Subscription",
            "the subscription store cannot be reached; retry later");
      }
      throw e;
    }
  }

  @Override
  public void create(SubscriptionRecord r, int maxTotal, int maxPerQuota, int maxPerOwner) {
    SubscriptionException refused = tx(h -> {
      h.execute("SELECT pg_advisory_xact_lock(?)", CREATE_LOCK);
      long total = count(h, "SELECT count(*) FROM halo_subscription", null);
      if (total >= maxTotal) {
        return new SubscriptionException(503, "Subscription",
            "this server holds its maximum of " + maxTotal + " subscriptions; retry later");
      }
      if (count(h, "SELECT count(*) FROM halo_subscription WHERE quota_key = :v", r.quotaKey()) >= maxPerQuota) {
        return new SubscriptionException(429, "Subscription", "this user (or client) already holds "
            + maxPerQuota + " subscriptions, the most it may; delete one first");
      }
      if (r.subscriber().sessionId().isPresent() && count(h,
          "SELECT count(*) FROM halo_subscription WHERE owner_key = :v", r.ownerKey()) >= maxPerOwner) {
        return new SubscriptionException(429, "Subscription", "this launch already holds "
            + maxPerOwner + " subscriptions, the most one launch may");
      }
      int n = bindAll(h.createUpdate("INSERT INTO halo_subscription (id, owner_key, quota_key,"
          + " subscriber, subscriber_session, subscription_json, channel, endpoint, headers, payload,"
          + " timeout_seconds, heartbeat_seconds, max_count, filter_type, filter_patient,"
          + " filter_launch, status, error, last_event, last_sent, failures, handshake_pending, lapsed,"
          + " created_at, last_sent_at, last_probe_at, next_attempt_at) VALUES (:id, :owner, :quota,"
          + " CAST(:subscriber AS jsonb), :session, :json, :channel, :endpoint, :headers, :payload,"
          + " :timeout, :heartbeat, :maxCount, :filterType, :filterPatient, :filterLaunch, :status,"
          + " :error, :lastEvent, :lastSent, :failures, :handshake, :lapsed, :createdAt, :lastSentAt,"
          + " :lastProbeAt, :nextAttemptAt) ON CONFLICT (id) DO NOTHING"), r)
          .bind("owner", r.ownerKey()).bind("quota", r.quotaKey())
          .bind("subscriber", r.subscriber().toJson())
          .bind("session", r.subscriber().sessionId().orElse(null))
          .bind("channel", r.channel().name()).bind("createdAt", Sql.at(r.createdAt()))
          .bind("lastEvent", r.lastEvent())
          .execute();
      if (n == 0) {
        throw new IllegalStateException("subscription id already in use");
      }
      return null;
    });
    if (refused != null) {
      throw refused;
    }
  }

  private static long count(Handle h, String sql, String value) {
    var q = h.createQuery(sql);
    if (value != null) {
      q.bind("v", value);
    }
    return q.mapTo(Long.class).one();
  }

  /** Binds the columns an {@link #update} may change. */
  private static Update bindAll(Update u, SubscriptionRecord r) {
    return u.bind("id", r.id()).bind("json", r.subscriptionJson())
        .bind("endpoint", r.endpoint().orElse(null))
        .bindArray("headers", String.class, r.headers()).bind("payload", r.payload())
        .bind("timeout", r.timeoutSeconds()).bind("heartbeat", r.heartbeatSeconds())
        .bind("maxCount", r.maxCount()).bind("filterType", r.filterType().orElse(null))
        .bind("filterPatient", r.filterPatient().orElse(null))
        .bind("filterLaunch", r.filterLaunch().orElse(null)).bind("status", r.status())
        .bind("error", r.error().orElse(null)).bind("lastSent", r.lastSent())
        .bind("failures", r.failures()).bind("handshake", r.handshakePending())
        .bind("lapsed", r.lapsed()).bind("lastSentAt", Sql.at(r.lastSentAt().orElse(null)))
        .bind("lastProbeAt", Sql.at(r.lastProbeAt().orElse(null)))
        .bind("nextAttemptAt", Sql.at(r.nextAttemptAt().orElse(null)));
  }

  @Override
  public Optional<SubscriptionRecord> find(String id) {
    if (id == null || !Sql.storable(id)) {
      return Optional.empty();
    }
    return one(h -> h.createQuery("SELECT " + COLUMNS + " FROM halo_subscription WHERE id = :id")
        .bind("id", id).map((rs, ctx) -> read(rs)).findOne());
  }

  @Override
  public java.util.Set<String> known(Collection<String> ids) {
    if (ids.isEmpty() || !Sql.storable(ids.toArray(new String[0]))) {
      return java.util.Set.of();
    }
    return one(h -> h.createQuery("SELECT id FROM halo_subscription WHERE id = ANY(:ids)")
        .bindArray("ids", String.class, ids.toArray(new String[0])).mapTo(String.class).set());
  }

  @Override
  public List<SubscriptionRecord> findByOwner(String ownerKey) {
    return one(h -> h.createQuery("SELECT " + COLUMNS
            + " FROM halo_subscription WHERE owner_key = :o ORDER BY created_at, id")
        .bind("o", ownerKey).map((rs, ctx) -> read(rs)).list());
  }

  @Override
  public List<SubscriptionRecord> matching(String type, String patient, String launch) {
    return one(h -> h.createQuery("SELECT " + COLUMNS + " FROM halo_subscription"
            + " WHERE status <> 'off' AND NOT lapsed"
            + " AND (filter_type IS NULL OR filter_type = :t)"
            + " AND (filter_patient IS NULL OR filter_patient = :p)"
            + " AND (filter_launch IS NULL OR filter_launch = :l) ORDER BY created_at, id")
        .bind("t", type).bind("p", patient).bind("l", launch).map((rs, ctx) -> read(rs)).list());
  }

  @Override
  public Optional<SubscriptionRecord> update(String id, UnaryOperator<SubscriptionRecord> change) {
    if (id == null || !Sql.storable(id)) {
      return Optional.empty();
    }
    return tx(h -> {
      Optional<SubscriptionRecord> old = h.createQuery("SELECT " + COLUMNS
              + " FROM halo_subscription WHERE id = :id FOR UPDATE")
          .bind("id", id).map((rs, ctx) -> read(rs)).findOne();
      if (old.isEmpty()) {
        return Optional.<SubscriptionRecord>empty();
      }
      SubscriptionRecord next = change.apply(old.get()).toBuilder().id(id)
          .lastEvent(old.get().lastEvent()).build();
      bindAll(h.createUpdate("UPDATE halo_subscription SET subscription_json = :json,"
          + " owner_key = :owner, quota_key = :quota, subscriber = CAST(:subscriber AS jsonb),"
          + " subscriber_session = :session, endpoint = :endpoint, headers = :headers,"
          + " payload = :payload, timeout_seconds = :timeout, heartbeat_seconds = :heartbeat,"
          + " max_count = :maxCount, filter_type = :filterType, filter_patient = :filterPatient,"
          + " filter_launch = :filterLaunch, status = :status, error = :error,"
          + " last_sent = :lastSent, failures = :failures, handshake_pending = :handshake,"
          + " lapsed = :lapsed, created_at = :createdAt, last_sent_at = :lastSentAt,"
          + " last_probe_at = :lastProbeAt, next_attempt_at = :nextAttemptAt WHERE id = :id"), next)
          .bind("owner", next.ownerKey()).bind("quota", next.quotaKey())
          .bind("subscriber", next.subscriber().toJson())
          .bind("session", next.subscriber().sessionId().orElse(null))
          .bind("createdAt", Sql.at(next.createdAt()))
          .execute();
      return Optional.of(next);
    });
  }

  @Override
  public boolean delete(String id) {
    if (id == null || !Sql.storable(id)) {
      return false;
    }
    return one(h -> h.createUpdate("DELETE FROM halo_subscription WHERE id = :id").bind("id", id)
        .execute() > 0);
  }

  @Override
  public List<String> deleteBySubscriberSession(String sessionId) {
    return one(h -> h.createQuery("DELETE FROM halo_subscription WHERE subscriber_session = :s RETURNING id")
        .bind("s", sessionId).mapTo(String.class).list());
  }

  @Override
  public long appendEvent(String id, Instant timestamp, String focus, int maxEvents, Instant keepAfter) {
    // one statement: number under the row lock, insert, trim (the trim's snapshot does not see
    // the new event, which is never older than keepAfter nor past maxEvents)
    return one(h -> h.createQuery("WITH n AS (UPDATE halo_subscription SET last_event = last_event + 1"
            + " WHERE id = :id AND status <> 'off' AND NOT lapsed RETURNING last_event),"
            + " ins AS (INSERT INTO halo_subscription_event (subscription_id, number, at, focus)"
            + " SELECT :id, last_event, :at, :focus FROM n),"
            + " del AS (DELETE FROM halo_subscription_event e USING n WHERE e.subscription_id = :id"
            + " AND (e.number <= n.last_event - :max OR e.at < :keepAfter))"
            + " SELECT last_event FROM n")
        .bind("id", id).bind("at", Sql.at(timestamp)).bind("focus", focus).bind("max", maxEvents)
        .bind("keepAfter", Sql.at(keepAfter)).mapTo(Long.class).findOne().orElse(0L));
  }

  @Override
  public List<SubscriptionEvent> events(String id, long since, long until, int max) {
    if (id == null || !Sql.storable(id)) {
      return List.of();
    }
    return one(h -> h.createQuery("SELECT number, at, focus FROM halo_subscription_event"
            + " WHERE subscription_id = :id AND number BETWEEN :since AND :until"
            + " ORDER BY number LIMIT :max")
        .bind("id", id).bind("since", since).bind("until", until).bind("max", max)
        .map((rs, ctx) -> new SubscriptionEvent(rs.getLong("number"), Sql.instant(rs, "at"),
            rs.getString("focus")))
        .list());
  }

  @Override
  public List<SubscriptionRecord> claimDue(String node, Instant now, Duration lease, Duration probeEvery,
      Collection<String> websockets, int max) {
    // SubscriptionRecord#due in SQL; a row it lets through is checked again in Java below
    List<SubscriptionRecord> claimed = one(h -> h.createQuery("UPDATE halo_subscription s"
            + " SET lease_owner = :node, lease_until = :until WHERE s.id IN ("
            + " SELECT id FROM halo_subscription"
            + " WHERE (lease_owner IS NULL OR lease_until <= :now)"
            + " AND (channel = 'REST_HOOK' OR id = ANY(:ws))"
            + " AND NOT lapsed AND status <> 'off'"
            + " AND (next_attempt_at IS NULL OR next_attempt_at <= :now)"
            + " AND ((channel = 'REST_HOOK' AND handshake_pending)"
            + "   OR (status = 'active' AND last_sent < last_event)"
            + "   OR (heartbeat_seconds > 0 AND status = 'active'"
            + "     AND COALESCE(last_sent_at, created_at) + heartbeat_seconds * INTERVAL '1 second' <= :now)"
            + "   OR (heartbeat_seconds > 0 AND status = 'error' AND channel = 'REST_HOOK'"
            + "     AND COALESCE(last_probe_at, created_at) + heartbeat_seconds * INTERVAL '1 second' <= :now"
            + "     AND COALESCE(last_probe_at, created_at) + :probeMicros * INTERVAL '1 microsecond' <= :now))"
            + " ORDER BY created_at LIMIT :max FOR UPDATE SKIP LOCKED)"
            + " RETURNING " + COLUMNS)
        .bind("node", node).bind("until", Sql.until(now.plus(lease))).bind("now", Sql.at(now))
        .bindArray("ws", String.class, websockets.toArray(new String[0]))
        .bind("probeMicros", probeEvery.toNanos() / 1000).bind("max", max)
        .map((rs, ctx) -> read(rs)).list());
    List<SubscriptionRecord> out = new ArrayList<>();
    for (SubscriptionRecord r : claimed) {
      if (r.due(now, probeEvery)) {
        out.add(r);
      } else {
        release(r.id(), node);
      }
    }
    out.sort(Comparator.comparing(SubscriptionRecord::createdAt));
    return out;
  }

  @Override
  public boolean claim(String id, String node, Instant now, Duration lease) {
    return one(h -> h.createUpdate("UPDATE halo_subscription SET lease_owner = :node, lease_until = :until"
            + " WHERE id = :id AND (lease_owner IS NULL OR lease_owner = :node OR lease_until <= :now)")
        .bind("id", id).bind("node", node).bind("until", Sql.until(now.plus(lease))).bind("now", Sql.at(now))
        .execute() > 0);
  }

  @Override
  public int renewLeases(String node, Instant until) {
    return one(h -> h.createUpdate("UPDATE halo_subscription SET lease_until = :until WHERE lease_owner = :node")
        .bind("node", node).bind("until", Sql.until(until)).execute());
  }

  @Override
  public void release(String id, String node) {
    one(h -> h.createUpdate("UPDATE halo_subscription SET lease_owner = NULL, lease_until = NULL"
            + " WHERE id = :id AND lease_owner = :node")
        .bind("id", id).bind("node", node).execute());
  }

  @Override
  public void putBindingToken(String token, String subscriptionId, Instant expires, int maxPerSubscription) {
    boolean known = tx(h -> {
      if (h.createQuery("SELECT id FROM halo_subscription WHERE id = :id FOR UPDATE")
          .bind("id", subscriptionId).mapTo(String.class).findOne().isEmpty()) {
        return false;
      }
      h.createUpdate("DELETE FROM halo_binding_token WHERE token_hash IN (SELECT token_hash"
              + " FROM halo_binding_token WHERE subscription_id = :id ORDER BY seq DESC OFFSET :keep)")
          .bind("id", subscriptionId).bind("keep", Math.max(0, maxPerSubscription - 1)).execute();
      h.createUpdate("INSERT INTO halo_binding_token (token_hash, subscription_id, expires_at)"
              + " VALUES (:hash, :id, :expires)")
          .bind("hash", Sql.hash(token)).bind("id", subscriptionId)
          .bind("expires", Sql.until(expires)).execute();
      return true;
    });
    if (!known) {
      throw new SubscriptionException(404, "Subscription", "Subscription/" + subscriptionId
          + " is not known");
    }
  }

  @Override
  public Optional<String> takeBindingToken(String token, Instant now) {
    return one(h -> h.createQuery("DELETE FROM halo_binding_token WHERE token_hash = :hash"
            + " RETURNING subscription_id, expires_at")
        .bind("hash", Sql.hash(token))
        .map((rs, ctx) -> now.isBefore(Sql.instant(rs, "expires_at"))
            ? Optional.of(rs.getString("subscription_id")) : Optional.<String>empty())
        .findOne().flatMap(x -> x));
  }

  @Override
  public java.util.Map<String, Integer> countByStatus() {
    java.util.Map<String, Integer> out = new java.util.TreeMap<>();
    one(h -> h.createQuery("SELECT status, count(*) FROM halo_subscription GROUP BY status")
        .map((rs, ctx) -> java.util.Map.entry(rs.getString(1), rs.getInt(2))).list())
        .forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  @Override
  public int size() {
    return one(h -> h.createQuery("SELECT count(*) FROM halo_subscription").mapTo(Integer.class).one());
  }

  @Override
  public int purge(Instant now, Instant keepAfter) {
    return tx(h -> h.createUpdate("DELETE FROM halo_binding_token WHERE expires_at <= :now")
            .bind("now", Sql.at(now)).execute()
        + h.createUpdate("DELETE FROM halo_subscription_event WHERE at < :keepAfter")
            .bind("keepAfter", Sql.at(keepAfter)).execute());
  }

  private static SubscriptionRecord read(ResultSet rs) throws SQLException {
    return SubscriptionRecord.builder().id(rs.getString("id")).ownerKey(rs.getString("owner_key"))
        .quotaKey(rs.getString("quota_key"))
        .subscriber(Principal.fromJson(rs.getString("subscriber")))
        .subscriptionJson(rs.getString("subscription_json"))
        .channel(SubscriptionRecord.Channel.valueOf(rs.getString("channel")))
        .endpoint(rs.getString("endpoint"))
        .headers(Arrays.asList((String[]) rs.getArray("headers").getArray()))
        .payload(rs.getString("payload")).timeoutSeconds(rs.getLong("timeout_seconds"))
        .heartbeatSeconds(rs.getLong("heartbeat_seconds")).maxCount(rs.getInt("max_count"))
        .filterType(rs.getString("filter_type")).filterPatient(rs.getString("filter_patient"))
        .filterLaunch(rs.getString("filter_launch")).status(rs.getString("status"))
        .error(rs.getString("error")).lastEvent(rs.getLong("last_event"))
        .lastSent(rs.getLong("last_sent")).failures(rs.getInt("failures"))
        .handshakePending(rs.getBoolean("handshake_pending")).lapsed(rs.getBoolean("lapsed"))
        .createdAt(Sql.instant(rs, "created_at")).lastSentAt(Sql.instant(rs, "last_sent_at"))
        .lastProbeAt(Sql.instant(rs, "last_probe_at")).nextAttemptAt(Sql.instant(rs, "next_attempt_at"))
        .build();
  }
}
