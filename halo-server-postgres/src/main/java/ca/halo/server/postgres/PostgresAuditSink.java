package ca.halo.server.postgres;

import ca.halo.server.audit.AuditSink;
import ca.halo.server.postgres.internal.Jsonb;
import ca.halo.server.postgres.internal.Sql;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAgentComponent;
import org.jdbi.v3.core.Jdbi;
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
 * <p>{@link #record} writes synchronously, one insert per event, and never throws: an event that
 * cannot be written (database unreachable) is logged at WARN, without its content, and dropped.
 * An event without a recorded time is stored at the injected clock's time. Text the database
 * cannot hold (U+0000) is replaced; the search columns are cut to 256 characters (the event keeps
 * the full text).
 *
 * <p>Thread-safe.
 */
public final class PostgresAuditSink implements AuditSink {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresAuditSink.class);
  private static final int COLUMN_MAX = 256;

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
    try {
      String json = Jsonb.write(fhirContext.newJsonParser().encodeResourceToString(event));
      Instant recorded = event.hasRecorded() ? event.getRecorded().toInstant() : clock.instant();
      String subtype = event.hasSubtype() ? event.getSubtype().get(0).getCode() : null;
      String action = event.hasAction() ? event.getAction().toCode() : null;
      String outcome = event.hasOutcome() ? event.getOutcome().toCode() : null;
      String client = client(event);
      jdbi.useHandle(h -> h.createUpdate("INSERT INTO halo_audit_event (recorded, subtype, action,"
              + " outcome, client_id, event) VALUES (:recorded, :subtype, :action, :outcome,"
              + " :client, CAST(:event AS jsonb))")
          .bind("recorded", Sql.at(recorded)).bind("subtype", Sql.text(subtype, COLUMN_MAX))
          .bind("action", Sql.text(action, COLUMN_MAX)).bind("outcome", Sql.text(outcome, COLUMN_MAX))
          .bind("client", Sql.text(client, COLUMN_MAX)).bind("event", json).execute());
      if (LOG.isDebugEnabled()) {
        LOG.debug("audit {} {} outcome={}", Sql.text(subtype, 64), action, outcome);
      }
    } catch (RuntimeException e) {
      LOG.warn("audit event not recorded ({}); the request itself went on",
          e.getClass().getSimpleName());
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
