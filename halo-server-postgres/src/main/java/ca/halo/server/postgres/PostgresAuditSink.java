package ca.halo.server.postgres;

import ca.halo.server.audit.AuditSink;
import ca.halo.server.postgres.internal.Jsonb;
import ca.halo.server.postgres.internal.Sql;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAgentComponent;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link AuditSink} that keeps every event in PostgreSQL ({@code halo_audit_event}): the R4
 * AuditEvent as {@code jsonb}, beside the columns one searches by (time, subtype, action, outcome,
 * client). Every node writes to the same table; {@link #search} reads it back, and
 * {@link PostgresPurger} deletes events older than its audit retention.
 *
 * <pre>{@code
 * PostgresAuditSink audit = PostgresAuditSink.builder(database).build();
 * SofaServer.builder()...audit(audit)...
 * List<AuditEvent> failures = audit.search(AuditQuery.builder().outcome("4").limit(50).build());
 * }</pre>
 *
 * <p>{@link #record} writes synchronously and never throws: it returns once the event is
 * committed. Concurrent callers share one transaction (group commit: whoever writes takes every
 * event waiting, up to 256), so audit costs one commit per burst, not per request. An event that
 * cannot be written (database unreachable) is logged at WARN, without its content, and dropped;
 * so are events past 10,000 waiting for the database. A caller waits at most 5 s for its turn,
 * then returns leaving its event queued for the next writer.
 * An event without a recorded time is stored at the injected clock's time. Text the database
 * cannot hold (U+0000) is replaced; the search columns are cut to 256 characters (the event keeps
 * the full text).
 *
 * <p>Thread-safe.
 */
public final class PostgresAuditSink implements AuditSink {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresAuditSink.class);
  private static final int COLUMN_MAX = 256;

  /** Rows written per transaction. */
  private static final int BATCH = 256;
  /** Rows waiting for the database before new events are dropped (and logged). */
  private static final int MAX_QUEUED = 10_000;
  /** How long a caller waits for the writer before leaving its row queued. */
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final ConcurrentLinkedQueue<Row> pending = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final ReentrantLock writer = new ReentrantLock();
  private final Jdbi jdbi;
  private final FhirContext fhirContext;
  private final Clock clock;

  private PostgresAuditSink(Builder b) {
    this.jdbi = b.database.jdbi();
    this.fhirContext = b.fhirContext != null ? b.fhirContext : FhirContext.forR4Cached();
    this.clock = b.clock;
  }

  public static Builder builder(PostgresDatabase database) {
    return new Builder(database);
  }

  @Override
  public void record(AuditEvent event) {
    if (event == null) {
      LOG.debug("audit: no event given; nothing recorded");
      return;
    }
    Row row;
    try {
      String json = Jsonb.write(fhirContext.newJsonParser().encodeResourceToString(event));
      Instant recorded = event.hasRecorded() ? event.getRecorded().toInstant() : clock.instant();
      String subtype = event.hasSubtype() ? event.getSubtype().get(0).getCode() : null;
      String action = event.hasAction() ? event.getAction().toCode() : null;
      String outcome = event.hasOutcome() ? event.getOutcome().toCode() : null;
      row = new Row(Sql.at(recorded), Sql.text(subtype, COLUMN_MAX), Sql.text(action, COLUMN_MAX),
          Sql.text(outcome, COLUMN_MAX), Sql.text(client(event), COLUMN_MAX), json);
    } catch (RuntimeException e) {
      LOG.warn("audit event not recorded ({}); the request itself went on",
          e.getClass().getSimpleName());
      return;
    }
    if (queued.incrementAndGet() > MAX_QUEUED) {
      queued.decrementAndGet();
      LOG.warn("audit event not recorded (more than {} waiting for the database); the request"
          + " itself went on", MAX_QUEUED);
      return;
    }
    pending.add(row);
    // group commit: whoever holds the writer writes every row waiting, in one transaction; a
    // caller returns once its own row is committed (or given up), so nothing it recorded is only
    // in memory when record returns, and concurrent callers share one commit
    try {
      if (!writer.tryLock(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("audit: the database did not take events within {}; this one stays queued",
            WAIT);
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    try {
      while (!row.done) {
        writeBatch();
      }
    } finally {
      writer.unlock();
    }
    if (LOG.isDebugEnabled()) {
      LOG.debug("audit {} {} outcome={}", Sql.text(row.subtype, 64), row.action, row.outcome);
    }
  }

  /** Writes up to {@link #BATCH} waiting rows in one transaction; called holding the writer. */
  private void writeBatch() {
    List<Row> batch = new ArrayList<>();
    for (Row r; batch.size() < BATCH && (r = pending.poll()) != null; ) {
      batch.add(r);
    }
    queued.addAndGet(-batch.size());
    if (batch.isEmpty()) {
      return;
    }
    try {
      jdbi.useTransaction(h -> {
        PreparedBatch b = h.prepareBatch("INSERT INTO halo_audit_event (recorded, subtype, action,"
            + " outcome, client_id, event) VALUES (:recorded, :subtype, :action, :outcome,"
            + " :client, CAST(:event AS jsonb))");
        for (Row r : batch) {
          b.bind("recorded", r.recorded).bind("subtype", r.subtype).bind("action", r.action)
              .bind("outcome", r.outcome).bind("client", r.client).bind("event", r.json).add();
        }
        b.execute();
      });
    } catch (RuntimeException e) {
      LOG.warn("{} audit event(s) not recorded ({}); the requests themselves went on",
          batch.size(), e.getClass().getSimpleName());
    }
    for (Row r : batch) {
      r.done = true;
    }
  }

  private static final class Row {
    final OffsetDateTime recorded;
    final String subtype;
    final String action;
    final String outcome;
    final String client;
    final String json;
    volatile boolean done;

    Row(OffsetDateTime recorded, String subtype, String action, String outcome, String client,
        String json) {
      this.recorded = recorded;
      this.subtype = subtype;
      this.action = action;
      this.outcome = outcome;
      this.client = client;
      this.json = json;
    }
  }

  /** The requesting agent's client id ({@code altId}), else the first agent's. */
  private static String client(AuditEvent event) {
    String first = null;
    for (AuditEventAgentComponent a : event.getAgent()) {
      if (a.hasAltId()) {
        if (a.getRequestor()) {
          return a.getAltId();
        }
        if (first == null) {
          first = a.getAltId();
        }
      }
    }
    return first;
  }

  /**
   * The events that match {@code query}, newest first, at most {@code query.limit()}.
   *
   * @throws org.jdbi.v3.core.JdbiException if the database cannot be read
   */
  public List<AuditEvent> search(AuditQuery query) {
    Objects.requireNonNull(query, "query");
    StringBuilder sql = new StringBuilder("SELECT event FROM halo_audit_event WHERE true");
    query.from().ifPresent(v -> sql.append(" AND recorded >= :from"));
    query.to().ifPresent(v -> sql.append(" AND recorded < :to"));
    query.subtype().ifPresent(v -> sql.append(" AND subtype = :subtype"));
    query.outcome().ifPresent(v -> sql.append(" AND outcome = :outcome"));
    query.clientId().ifPresent(v -> sql.append(" AND client_id = :client"));
    sql.append(" ORDER BY recorded DESC, id DESC LIMIT :limit");
    return jdbi.withHandle(h -> {
      Query q = h.createQuery(sql.toString()).bind("limit", query.limit());
      query.from().ifPresent(v -> q.bind("from", Sql.at(v)));
      query.to().ifPresent(v -> q.bind("to", Sql.at(v)));
      query.subtype().ifPresent(v -> q.bind("subtype", v));
      query.outcome().ifPresent(v -> q.bind("outcome", v));
      query.clientId().ifPresent(v -> q.bind("client", v));
      return q.map((rs, ctx) -> fhirContext.newJsonParser()
          .parseResource(AuditEvent.class, Jsonb.readText(rs.getString("event")))).list();
    });
  }

  @Override
  public String toString() {
    return "PostgresAuditSink{}";
  }

  /** Builds a {@link PostgresAuditSink}. */
  public static final class Builder {
    private final PostgresDatabase database;
    private FhirContext fhirContext;
    private Clock clock = Clock.systemUTC();

    private Builder(PostgresDatabase database) {
      this.database = Objects.requireNonNull(database, "database");
    }

    /** The R4 context to encode events with. Default {@code FhirContext.forR4Cached()}. */
    public Builder fhirContext(FhirContext v) { this.fhirContext = Objects.requireNonNull(v); return this; }

    /** The time of an event that carries none. Default the system clock. */
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }

    public PostgresAuditSink build() {
      return new PostgresAuditSink(this);
    }
  }
}
