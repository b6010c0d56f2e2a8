package ca.halo.server.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventOutcome;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;

/**
 * What every {@link AuditSink} must do: keep what it is given, readable by the sink's own means,
 * from many threads at once, and never throw, whatever the event looks like. Ships in the
 * {@code halo-server-spi} test-jar; an implementation's test extends it:
 *
 * <pre>{@code
 * class MyAuditSinkTest extends AuditSinkContract {
 *   protected AuditSink newSink() { return new MySink(); }
 *   protected List<AuditEvent> recorded(AuditSink sink) { return ((MySink) sink).read(); }
 * }
 * }</pre>
 */
public abstract class AuditSinkContract {
  /** An empty sink that keeps at least 1,000 events. */
  protected abstract AuditSink newSink();

  /** Every event {@code sink} kept, in any order, read the way the implementation offers. */
  protected abstract List<AuditEvent> recorded(AuditSink sink);

  protected static AuditEvent event(String subtype, String client, Instant when, boolean success) {
    AuditEvent e = new AuditEvent();
    e.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"));
    e.addSubtype(new Coding("http://fhir.infoway-inforoute.ca/io/HALO/CodeSystem/halo-audit-subtype",
        subtype, null));
    e.setAction(AuditEventAction.R);
    e.setRecorded(Date.from(when));
    e.setOutcome(success ? AuditEventOutcome._0 : AuditEventOutcome._4);
    e.addAgent().setRequestor(true).setAltId(client).setWho(new Reference().setDisplay("dr.a"));
    e.getSource().setObserver(new Reference().setDisplay("halo-sofa"));
    e.addEntity().setWhat(new Reference("Patient/123"));
    return e;
  }

  @Test
  public void record_oneEvent_readBackWithItsContent() {
    AuditSink sink = newSink();
    Instant when = Instant.parse("2026-01-01T08:00:00Z");

    sink.record(event("read", "growth-chart", when, true));

    List<AuditEvent> out = recorded(sink);
    assertThat(out).hasSize(1);
    AuditEvent e = out.get(0);
    assertThat(e.getSubtypeFirstRep().getCode()).isEqualTo("read");
    assertThat(e.getAction()).isEqualTo(AuditEventAction.R);
    assertThat(e.getOutcome()).isEqualTo(AuditEventOutcome._0);
    assertThat(e.getRecorded().toInstant()).isEqualTo(when);
    assertThat(e.getAgentFirstRep().getAltId()).isEqualTo("growth-chart");
    assertThat(e.getEntityFirstRep().getWhat().getReference()).isEqualTo("Patient/123");
  }

  @Test
  public void record_oddEvents_neverThrows() {
    AuditSink sink = newSink();
    AuditEvent bare = new AuditEvent();
    AuditEvent noCodes = new AuditEvent();
    noCodes.addSubtype(new Coding());
    noCodes.addAgent();
    AuditEvent odd = event("x".repeat(10_000), "\u0000client\u00e9\u2603", Instant.EPOCH, false);
    AuditEvent future = event("read", null, Instant.parse("9999-12-31T23:59:59Z"), true);

    assertThatCode(() -> {
      sink.record(bare);
      sink.record(noCodes);
      sink.record(odd);
      sink.record(future);
      sink.record(null);
    }).doesNotThrowAnyException();
    assertThat(recorded(sink)).hasSizeGreaterThanOrEqualTo(3);
  }

  @Test
  public void record_manyThreads_everyEventKept() throws Exception {
    AuditSink sink = newSink();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        fs.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < 25; i++) {
            sink.record(event("read", "client-" + thread + "-" + i, Instant.now(), true));
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : fs) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    List<AuditEvent> out = recorded(sink);
    assertThat(out).hasSize(200);
    assertThat(out.stream().map(e -> e.getAgentFirstRep().getAltId()).distinct().count()).isEqualTo(200);
  }
}
