package ca.halo.server.postgres;

import ca.halo.server.postgres.internal.BoundedTable;
import ca.halo.server.postgres.internal.Sql;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the rows no caller needs any more: expired pending sign-ins, account attempt windows,
 * SSO sessions, authorization codes past their replay window, grants, revocations and assertion
 * ids (the tables of {@link PostgresAuthorizationStateStore}), counter rows at zero, and audit
 * events older than the audit retention; plus whatever other stores add with
 * {@link Builder#task}. Expired launch contexts are left alone: {@code ContextManager.expireNow()}
 * lists them with {@link PostgresLaunchContextStore#expired} to delete their resources first.
 *
 * <pre>{@code
 * try (PostgresPurger purger = PostgresPurger.builder(database)
 *     .auditRetention(Duration.ofDays(730)).task("my_table", myTask).build()
 *     .start(Duration.ofMinutes(5))) {
 *   ...
 * }
 * }</pre>
 *
 * <p>Run it on every node: at most one purges at a time. Each batch (at most {@code batchSize}
 * rows of one task) is a short transaction that first takes
 * {@code pg_try_advisory_xact_lock(}{@link #LOCK_KEY}{@code )}; a node that finds the lock taken
 * ends its run at once, since another node is purging. Short transactions matter: a delete holds
 * the table's row counter locked until it commits, and writers of that table wait for it. A run
 * does at most {@code maxBatchesPerTask} batches per task; the next run goes on.
 *
 * <p>Thread-safe. {@link #start} runs {@link #purgeNow()} on a daemon thread
 * ({@code halo-postgres-purge}) that {@link #close()} stops.
 */
public final class PostgresPurger implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresPurger.class);
  /** The advisory lock key purges hold: "HALOPRGE" in ASCII. */
  public static final long LOCK_KEY = 0x48414C4F50524745L;

  private final Jdbi jdbi;
  private final Clock clock;
  private final int batchSize;
  private final int maxBatchesPerTask;
  private final Duration auditRetention;
  private final Map<String, PurgeTask> tasks;
  private ScheduledExecutorService scheduler;

  private PostgresPurger(Builder b) {
    this.jdbi = b.database.jdbi();
    this.clock = b.clock;
    this.batchSize = b.batchSize;
    this.maxBatchesPerTask = b.maxBatchesPerTask;
    this.auditRetention = b.auditRetention;
    Map<String, PurgeTask> all = new LinkedHashMap<>();
    new TreeMap<>(PostgresAuthorizationStateStore.tables()).forEach((table, key) ->
        all.put(table, (h, now, limit) -> BoundedTable.deleteExpired(h, table, key, null, now, limit)));
    all.put("halo_audit_event", (h, now, limit) -> h.createUpdate("DELETE FROM halo_audit_event"
            + " WHERE id IN (SELECT id FROM halo_audit_event WHERE recorded < :cutoff"
            + " ORDER BY recorded LIMIT :limit FOR UPDATE SKIP LOCKED)")
        .bind("cutoff", Sql.at(now.minus(auditRetention))).bind("limit", limit).execute());
    all.putAll(b.tasks);
    // last, so that the counters the deletes above brought to zero go in the same run
    all.put("halo_row_count", (h, now, limit) -> h.createUpdate("DELETE FROM halo_row_count"
            + " WHERE (tbl, owner) IN (SELECT tbl, owner FROM halo_row_count WHERE n = 0"
            + " AND owner <> '' LIMIT :limit FOR UPDATE SKIP LOCKED)")
        .bind("limit", limit).execute());
    this.tasks = all;
  }

  public static Builder builder(PostgresDatabase database) {
    return new Builder(database);
  }

  /** The tasks a run goes through, in order, by name. */
  public java.util.Set<String> taskNames() {
    return java.util.Collections.unmodifiableSet(tasks.keySet());
  }

  /**
   * Purges now, in this thread: each task in bounded batches, unless another node is purging.
   *
   * @throws org.jdbi.v3.core.JdbiException if the database fails (the next run tries again)
   */
  public PurgeReport purgeNow() {
    Instant now = clock.instant();
    Map<String, Integer> deleted = new LinkedHashMap<>();
    boolean ran = false;
    for (Map.Entry<String, PurgeTask> t : tasks.entrySet()) {
      int total = 0;
      for (int batch = 0; batch < maxBatchesPerTask; batch++) {
        PurgeTask task = t.getValue();
        Integer n = jdbi.inTransaction(h -> {
          boolean locked = h.createQuery("SELECT pg_try_advisory_xact_lock(:k)")
              .bind("k", LOCK_KEY).mapTo(Boolean.class).one();
          return locked ? Integer.valueOf(task.purge(h, now, batchSize)) : null;
        });
        if (n == null) {
          if (total > 0) {
            deleted.put(t.getKey(), total);
          }
          LOG.debug("purge: another node is purging; this run ends ({} rows deleted: {})",
              deleted.values().stream().mapToInt(Integer::intValue).sum(), deleted);
          return new PurgeReport(ran, deleted);
        }
        ran = true;
        total += n;
        if (n < batchSize) {
          break;
        }
      }
      deleted.put(t.getKey(), total);
    }
    PurgeReport report = new PurgeReport(true, deleted);
    LOG.debug("purge: {} row(s) deleted {}", report.total(), deleted);
    return report;
  }

  /**
   * Runs {@link #purgeNow()} every {@code every} (first after one interval) on a daemon thread
   * until {@link #close()}. A failed run is logged at WARN and the next one tries again.
   */
  public synchronized PostgresPurger start(Duration every) {
    Objects.requireNonNull(every, "every");
    if (every.isNegative() || every.isZero()) {
      throw new IllegalArgumentException("every must be positive");
    }
    if (scheduler != null) {
      throw new IllegalStateException("already started");
    }
    scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "halo-postgres-purge");
      t.setDaemon(true);
      return t;
    });
    long ms = every.toMillis();
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        purgeNow();
      } catch (RuntimeException e) {
        LOG.warn("purge failed ({}); the next run tries again", e.getClass().getSimpleName());
      }
    }, ms, ms, TimeUnit.MILLISECONDS);
    return this;
  }

  /** Stops the thread {@link #start} made; the database is the caller's. */
  @Override
  public synchronized void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
      scheduler = null;
    }
  }

  @Override
  public String toString() {
    return "PostgresPurger{tasks=" + tasks.keySet() + ", auditRetention=" + auditRetention + "}";
  }

  /** Builds a {@link PostgresPurger}; {@link #build()} checks the settings. */
  public static final class Builder {
    private final PostgresDatabase database;
    private Clock clock = Clock.systemUTC();
    private int batchSize = 1_000;
    private int maxBatchesPerTask = 100;
    private Duration auditRetention = Duration.ofDays(365);
    private final Map<String, PurgeTask> tasks = new LinkedHashMap<>();

    private Builder(PostgresDatabase database) {
      this.database = Objects.requireNonNull(database, "database");
    }

    /** The clock that says what has expired: the stores'. Default the system clock. */
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** Rows one batch (one transaction) deletes at most. Default 1,000. */
    public Builder batchSize(int v) { this.batchSize = v; return this; }
    /** Batches per task in one run. Default 100. */
    public Builder maxBatchesPerTask(int v) { this.maxBatchesPerTask = v; return this; }
    /**
     * How long audit events are kept (by their recorded time). Default 365 days; set it to what
     * the jurisdiction's records rules require.
     */
    public Builder auditRetention(Duration v) { this.auditRetention = Objects.requireNonNull(v); return this; }
    /** Adds the purge of another store's table; runs after this module's own tasks. */
    public Builder task(String name, PurgeTask task) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(task, "task");
      if (tasks.putIfAbsent(name, task) != null) {
        throw new IllegalArgumentException("a purge task named " + name + " is already added");
      }
      return this;
    }

    public PostgresPurger build() {
      if (batchSize < 1 || maxBatchesPerTask < 1) {
        throw new IllegalStateException("batchSize and maxBatchesPerTask must be positive");
      }
      if (auditRetention.isNegative() || auditRetention.isZero()) {
        throw new IllegalStateException("auditRetention must be positive");
      }
      for (String n : tasks.keySet()) {
        if (PostgresAuthorizationStateStore.tables().containsKey(n)
            || n.equals("halo_audit_event") || n.equals("halo_row_count")) {
          throw new IllegalStateException("purge task name " + n + " is one of this module's own");
        }
      }
      return new PostgresPurger(this);
    }
  }
}
