package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import ca.halo.server.TestClock;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.audit.AuditSinkContract;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.AuditEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The audit sink contract on PostgreSQL, and searching what several nodes recorded. */
class PostgresAuditSinkTest extends AuditSinkContract {
  private static final Instant T0 = Instant.parse("2026-01-01T08:00:00Z");
  private final TestClock clock = new TestClock(T0);
  private final List<SharedDatabase> databases = new ArrayList<>();
  private final Map<AuditSink, SharedDatabase> databaseOf = new IdentityHashMap<>();

  @Override
  protected AuditSink newSink() {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    PostgresAuditSink sink = PostgresAuditSink.builder(db.node()).clock(clock).build();
    databaseOf.put(sink, db);
    return sink;
  }

  @Override
  protected List<AuditEvent> recorded(AuditSink sink) {
    return ((PostgresAuditSink) sink).search(AuditQuery.builder().limit(AuditQuery.MAX_LIMIT).build());
  }

  @AfterEach
  void closeDatabases() {
    databases.forEach(SharedDatabase::close);
  }

  @Test
  void search_byEachColumn_onlyMatchingEventsNewestFirst() {
    PostgresAuditSink sink = (PostgresAuditSink) newSink();
    sink.record(event("set-context", "emr", T0, true));
    sink.record(event("read", "app", T0.plusSeconds(1), true));
    sink.record(event("read", "app", T0.plusSeconds(2), false));
    sink.record(event("read", "other", T0.plusSeconds(3), true));

    assertThat(sink.search(AuditQuery.builder().subtype("read").build()))
        .extracting(e -> e.getRecorded().toInstant())
        .containsExactly(T0.plusSeconds(3), T0.plusSeconds(2), T0.plusSeconds(1));
    assertThat(sink.search(AuditQuery.builder().clientId("app").outcome("4").build()))
        .extracting(e -> e.getRecorded().toInstant()).containsExactly(T0.plusSeconds(2));
    assertThat(sink.search(AuditQuery.builder().from(T0.plusSeconds(1)).to(T0.plusSeconds(3)).build()))
        .hasSize(2);
    assertThat(sink.search(AuditQuery.builder().limit(1).build()))
        .extracting(e -> e.getAgentFirstRep().getAltId()).containsExactly("other");
    assertThat(sink.search(AuditQuery.builder().subtype("none").build())).isEmpty();
  }

  @Test
  void record_eventWithoutTime_storedAtTheClockTime() {
    PostgresAuditSink sink = (PostgresAuditSink) newSink();
    AuditEvent e = event("read", "app", T0, true);
    e.setRecorded(null);
    clock.advance(java.time.Duration.ofMinutes(3));

    sink.record(e);

    assertThat(sink.search(AuditQuery.builder().from(T0.plusSeconds(180)).build())).hasSize(1);
    assertThat(databaseOf.get(sink).count("SELECT count(*) FROM halo_audit_event"
        + " WHERE recorded = '2026-01-01T08:03:00Z'")).isEqualTo(1);
  }

  @Test
  void record_oddTextInSearchColumns_keptCutAndClean() {
    PostgresAuditSink sink = (PostgresAuditSink) newSink();
    String client = "a\u0000b" + "c".repeat(1_000);

    sink.record(event("read", client, T0, true));

    List<AuditEvent> out = recorded(sink);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getAgentFirstRep().getAltId()).as("the event keeps the full text").isEqualTo(client);
    assertThat(databaseOf.get(sink).count("SELECT max(length(client_id)) FROM halo_audit_event")).isEqualTo(256);
  }

  @Test
  void record_databaseGone_doesNotThrow() {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    PostgresDatabase node = db.node();
    PostgresAuditSink sink = PostgresAuditSink.builder(node).build();
    node.close();

    assertThatCode(() -> sink.record(event("read", "app", T0, true))).doesNotThrowAnyException();
  }

  @Test
  void twoNodes_eachRecords_bothReadEverything() {
    PostgresAuditSink a = (PostgresAuditSink) newSink();
    PostgresAuditSink b = PostgresAuditSink.builder(databaseOf.get(a).node()).build();

    a.record(event("read", "on-a", T0, true));
    b.record(event("read", "on-b", T0.plusSeconds(1), true));

    assertThat(a.search(AuditQuery.builder().build())).extracting(e -> e.getAgentFirstRep().getAltId())
        .containsExactly("on-b", "on-a");
    assertThat(b.search(AuditQuery.builder().build())).hasSize(2);
  }

  @Test
  void record_concurrentCallers_eachCommittedOnReturn_sharingCommits() throws Exception {
    PostgresAuditSink sink = (PostgresAuditSink) newSink();
    SharedDatabase db = databaseOf.get(sink);
    int threads = 32;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
    List<java.util.concurrent.Future<Long>> seen = new ArrayList<>();
    try {
      for (int i = 0; i < threads; i++) {
        String client = "c" + i;
        seen.add(pool.submit(() -> {
          start.await();
          sink.record(event("read", client, T0, true));
          // committed when record returns: another connection sees it at once
          return db.count("SELECT count(*) FROM halo_audit_event WHERE client_id = '" + client + "'");
        }));
      }
      for (java.util.concurrent.Future<Long> f : seen) {
        assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(1L);
      }
    } finally {
      pool.shutdownNow();
    }
    // each row's xmin is the transaction that inserted it
    long transactions = db.count("SELECT count(DISTINCT xmin::text) FROM halo_audit_event");
    assertThat(transactions).as("insert transactions for %d concurrent events", threads)
        .isLessThan(threads);
  }
}
