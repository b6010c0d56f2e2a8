package ca.halo.server.postgres;

import ca.halo.core.LaunchContext;
import ca.halo.server.context.ContextStoreFullException;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.OwnerShareExceededException;
import ca.halo.server.context.StoredContext;
import ca.halo.server.postgres.internal.BoundedTable;
import ca.halo.server.postgres.internal.Jsonb;
import ca.halo.server.postgres.internal.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link LaunchContextStore} of a SoFA that runs on several nodes: launch contexts in
 * PostgreSQL ({@code halo_launch_context}), the resources an app creates in a session one row
 * each ({@code halo_launch_context_resource}), shared by all nodes and kept across restarts.
 *
 * <pre>{@code
 * LaunchContextStore contexts = PostgresLaunchContextStore.builder(database).capacity(100_000).build();
 * SofaServer.builder()...contexts(contexts)...
 * }</pre>
 *
 * <p>Atomicity: {@link #create} inserts with {@code ON CONFLICT DO NOTHING} (a launch or session
 * id in use is refused) and checks the row count that a trigger keeps in the same transaction (so
 * concurrent creates on any node never pass {@code capacity}); {@link #addResource} inserts under
 * a share lock of the live context, so it either lands before a delete takes the context, and is
 * returned with it, or finds the context gone and answers false; {@link #delete} takes the
 * context's row lock before it reads the resources (exactly one caller gets it); and
 * {@link #expired} only lists: the sweeping node deletes the resources, then the context, which
 * one node alone gets.
 *
 * <p>Expiry is judged by the {@code now} each call is given. Expired contexts stay (and count
 * against capacity) until {@link #delete} takes them: the SoFA's
 * {@code ContextManager} must delete their resources, so {@link PostgresPurger} never deletes
 * contexts. The launch id, a bearer secret for its lifetime, is stored as is (the SPI returns it).
 * Times are kept to the microsecond, as PostgreSQL keeps them (an expiry rounded up).
 *
 * <p>Thread-safe, and safe for any number of nodes on one database.
 */
public final class PostgresLaunchContextStore implements LaunchContextStore {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresLaunchContextStore.class);
  static final String TABLE = "halo_launch_context";
  private static final String COLUMNS = "launch_id, session_id, owner_client_id, owner_subject,"
      + " app_id, context, resources, size_bytes, created_at, expires_at";

  private final Jdbi jdbi;
  private final int capacity;

  private PostgresLaunchContextStore(Builder b) {
    this.jdbi = b.database.jdbi();
    this.capacity = b.capacity;
  }

  public static Builder builder(PostgresDatabase database) {
    return new Builder(database);
  }

  @Override
  public void create(StoredContext c, int maxPerOwner, long maxBytesPerOwner) {
    Objects.requireNonNull(c, "context");
    jdbi.useTransaction(h -> {
      int n = h.createUpdate("INSERT INTO halo_launch_context (" + COLUMNS + ") VALUES (:launch,"
              + " :session, :client, :subject, :app, CAST(:context AS jsonb),"
              + " CAST(:resources AS text[]), :size, :created, :expires) ON CONFLICT DO NOTHING")
          .bind("launch", c.launchId()).bind("session", c.sessionId())
          .bind("client", c.ownerClientId()).bind("subject", c.ownerSubject().orElse(null))
          .bind("app", c.appId().orElse(null)).bind("context", Jsonb.write(c.context().toJson()))
          .bindArray("resources", String.class, new ArrayList<>(c.resources()))
          .bind("size", c.sizeBytes()).bind("created", Sql.at(c.createdAt()))
          .bind("expires", Sql.until(c.expiresAt())).execute();
      if (n == 0) {
        throw new IllegalStateException("launch id or session id already in use");
      }
      // the trigger counted the row and holds the count locked until commit: exact across nodes
      if (BoundedTable.count(h, TABLE) > capacity) {
        throw new ContextStoreFullException(capacity); // rolls the insert back
      }
      // last, so that the owner's row is locked only from here to the commit
      boolean within = h.createQuery("INSERT INTO halo_context_owner AS o (owner, contexts, bytes)"
              + " VALUES (:k, 1, :b) ON CONFLICT (owner) DO UPDATE"
              + " SET contexts = o.contexts + 1, bytes = o.bytes + :b"
              + " WHERE o.contexts + 1 <= :maxN AND o.bytes + :b <= :maxB RETURNING 1")
          .bind("k", c.ownerKey()).bind("b", c.sizeBytes()).bind("maxN", (long) maxPerOwner)
          .bind("maxB", maxBytesPerOwner).mapTo(Integer.class).findOne().isPresent();
      if (!within || maxPerOwner < 1 || c.sizeBytes() > maxBytesPerOwner) {
        throw new OwnerShareExceededException(maxPerOwner, maxBytesPerOwner); // rolls back
      }
    });
    LOG.debug("launch context stored with {} resource(s)", c.resources().size());
  }

  @Override
  public Optional<StoredContext> find(String launchId, Instant now) {
    if (launchId == null || !Sql.storable(launchId)) {
      return Optional.empty();
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM halo_launch_context"
            + " WHERE launch_id = :l AND expires_at > :now")
        .bind("l", launchId).bind("now", Sql.at(now))
        .map((rs, ctx) -> context(rs)).findOne());
  }

  @Override
  public Optional<StoredContext> findBySession(String sessionId, Instant now) {
    if (sessionId == null || !Sql.storable(sessionId)) {
      return Optional.empty();
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM halo_launch_context"
            + " WHERE session_id = :s AND expires_at > :now")
        .bind("s", sessionId).bind("now", Sql.at(now))
        .map((rs, ctx) -> context(rs)).findOne());
  }

  @Override
  public boolean addResource(String sessionId, String reference, Instant now) {
    Objects.requireNonNull(reference, "reference");
    if (sessionId == null || !Sql.storable(sessionId, reference)) {
      return false;
    }
    // FOR SHARE: a delete waits for this insert to commit (and then returns it), or this finds
    // the context already gone
    return jdbi.withHandle(h -> h.createQuery("WITH c AS (SELECT launch_id FROM halo_launch_context"
            + " WHERE session_id = :s AND expires_at > :now FOR SHARE),"
            + " i AS (INSERT INTO halo_launch_context_resource (launch_id, reference)"
            + " SELECT launch_id, :ref FROM c ON CONFLICT DO NOTHING)"
            + " SELECT count(*) FROM c")
        .bind("s", sessionId).bind("now", Sql.at(now)).bind("ref", reference)
        .mapTo(Long.class).one()) > 0;
  }

  @Override
  public WriteCharge chargeWrite(String sessionId, long bytes, int resources, long maxBytes,
      long maxResources, Instant now) {
    if (sessionId == null || !Sql.storable(sessionId)) {
      return WriteCharge.NO_SESSION;
    }
    // one statement: the UPDATE re-checks its condition on the row it locks, so concurrent
    // charges of one session (on any node) never pass the budget together
    long[] r = jdbi.withHandle(h -> h.createQuery("WITH c AS (SELECT 1 FROM halo_launch_context"
            + " WHERE session_id = :s AND expires_at > :now),"
            + " u AS (UPDATE halo_launch_context SET written_bytes = written_bytes + :b,"
            + " written_resources = written_resources + :r WHERE session_id = :s"
            + " AND expires_at > :now AND written_bytes + :b <= :maxB"
            + " AND written_resources + :r <= :maxR RETURNING 1)"
            + " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u)")
        .bind("s", sessionId).bind("now", Sql.at(now)).bind("b", bytes).bind("r", resources)
        .bind("maxB", maxBytes).bind("maxR", maxResources)
        .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2)}).one());
    return r[1] > 0 ? WriteCharge.CHARGED
        : r[0] == 0 ? WriteCharge.NO_SESSION : WriteCharge.OVER_BUDGET;
  }

  @Override
  public void refundWrite(String sessionId, long bytes, int resources) {
    if (sessionId == null || !Sql.storable(sessionId)) {
      return;
    }
    jdbi.useHandle(h -> h.createUpdate("UPDATE halo_launch_context"
            + " SET written_bytes = greatest(0, written_bytes - :b),"
            + " written_resources = greatest(0, written_resources - :r) WHERE session_id = :s")
        .bind("s", sessionId).bind("b", bytes).bind("r", resources).execute());
  }

  @Override
  public Optional<StoredContext> delete(String launchId) {
    if (launchId == null || !Sql.storable(launchId)) {
      return Optional.empty();
    }
    return jdbi.inTransaction(h -> {
      Optional<StoredContext> c = h.createQuery("SELECT " + COLUMNS + " FROM halo_launch_context"
              + " WHERE launch_id = :l FOR UPDATE")
          .bind("l", launchId).map((rs, ctx) -> context(rs)).findOne();
      if (c.isEmpty()) {
        return c;
      }
      Map<String, List<String>> added = takeResources(h, List.of(launchId));
      h.createUpdate("DELETE FROM halo_launch_context WHERE launch_id = :l").bind("l", launchId)
          .execute();
      h.createUpdate("UPDATE halo_context_owner SET contexts = contexts - 1,"
              + " bytes = greatest(0, bytes - :b) WHERE owner = :k")
          .bind("k", c.get().ownerKey()).bind("b", c.get().sizeBytes()).execute();
      h.createUpdate("DELETE FROM halo_context_owner WHERE owner = :k AND contexts <= 0")
          .bind("k", c.get().ownerKey()).execute();
      List<String> more = added.getOrDefault(launchId, List.of());
      return Optional.of(more.isEmpty() ? c.get() : c.get().withResources(more));
    });
  }

  @Override
  public List<StoredContext> expired(Instant now, int max) {
    return jdbi.withHandle(h -> {
      Map<String, StoredContext> found = new LinkedHashMap<>();
      h.createQuery("SELECT " + COLUMNS + " FROM halo_launch_context WHERE expires_at <= :now"
              + " ORDER BY expires_at LIMIT :limit")
          .bind("now", Sql.at(now)).bind("limit", Math.max(0, max))
          .map((rs, ctx) -> context(rs))
          .forEach(c -> found.put(c.launchId(), c));
      if (found.isEmpty()) {
        return List.<StoredContext>of();
      }
      Map<String, List<String>> added = new HashMap<>();
      h.createQuery("SELECT launch_id, reference FROM halo_launch_context_resource"
              + " WHERE launch_id = ANY(CAST(:ids AS text[]))")
          .bindArray("ids", String.class, new ArrayList<>(found.keySet()))
          .map((rs, ctx) -> Map.entry(rs.getString("launch_id"), rs.getString("reference")))
          .forEach(e -> added.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
      List<StoredContext> out = new ArrayList<>(found.size());
      for (StoredContext c : found.values()) {
        List<String> more = added.getOrDefault(c.launchId(), List.of());
        out.add(more.isEmpty() ? c : c.withResources(more));
      }
      return out;
    });
  }

  /** Deletes and returns the resources recorded for {@code launchIds}, whose rows the caller locked. */
  private static Map<String, List<String>> takeResources(Handle h, List<String> launchIds) {
    Map<String, List<String>> added = new HashMap<>();
    h.createQuery("DELETE FROM halo_launch_context_resource"
            + " WHERE launch_id = ANY(CAST(:ids AS text[])) RETURNING launch_id, reference")
        .bindArray("ids", String.class, launchIds)
        .map((rs, ctx) -> Map.entry(rs.getString("launch_id"), rs.getString("reference")))
        .forEach(e -> added.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
    return added;
  }

  @Override
  public int size() {
    long n = jdbi.withHandle(h -> BoundedTable.count(h, TABLE));
    return (int) Math.min(Integer.MAX_VALUE, n);
  }

  private static StoredContext context(ResultSet rs) throws SQLException {
    StoredContext.Builder b = StoredContext.builder()
        .launchId(rs.getString("launch_id")).sessionId(rs.getString("session_id"))
        .ownerClientId(rs.getString("owner_client_id")).ownerSubject(rs.getString("owner_subject"))
        .appId(rs.getString("app_id"))
        .context(LaunchContext.parse(Jsonb.readText(rs.getString("context"))))
        .sizeBytes(rs.getLong("size_bytes"))
        .createdAt(Sql.instant(rs, "created_at")).expiresAt(Sql.instant(rs, "expires_at"));
    Sql.strings(rs, "resources").forEach(b::addResource);
    return b.build();
  }

  @Override
  public String toString() {
    return "PostgresLaunchContextStore{capacity=" + capacity + "}";
  }

  /** Builds a {@link PostgresLaunchContextStore}; {@link #build()} checks the bounds. */
  public static final class Builder {
    private final PostgresDatabase database;
    private int capacity = 100_000;

    private Builder(PostgresDatabase database) {
      this.database = Objects.requireNonNull(database, "database");
    }

    /** Contexts the database may hold, on all nodes together. Default 100,000; then 503. */
    public Builder capacity(int v) { this.capacity = v; return this; }


    public PostgresLaunchContextStore build() {
      if (capacity < 1) {
        throw new IllegalStateException("capacity must be positive");
      }
      return new PostgresLaunchContextStore(this);
    }
  }
}
