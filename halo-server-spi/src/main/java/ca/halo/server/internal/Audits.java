package ca.halo.server.internal;

import ca.halo.server.audit.AuditSink;
import java.time.Instant;
import java.util.Date;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventOutcome;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the SoFA's AuditEvents: ids and references only, never resource bodies. */
public final class Audits {
  public static final String SUBTYPE_SYSTEM =
      "http://fhir.infoway-inforoute.ca/io/HALO/CodeSystem/halo-audit-subtype";
  private static final Logger LOG = LoggerFactory.getLogger(Audits.class);

  private Audits() {}

  public static void record(AuditSink sink, String subtype, AuditEventAction action,
      boolean success, String clientId, String subject, String entity, Instant when) {
    AuditEvent e = new AuditEvent();
    e.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
        "RESTful Operation"));
    e.addSubtype(new Coding(SUBTYPE_SYSTEM, subtype, null));
    e.setAction(action);
    e.setRecorded(Date.from(when));
    e.setOutcome(success ? AuditEventOutcome._0 : AuditEventOutcome._4);
    AuditEvent.AuditEventAgentComponent agent = e.addAgent().setRequestor(true);
    if (clientId != null) {
      agent.setAltId(clientId);
    }
    if (subject != null) {
      agent.setWho(new Reference().setDisplay(subject));
    }
    e.getSource().setObserver(new Reference().setDisplay("halo-sofa"));
    if (entity != null) {
      e.addEntity().setWhat(new Reference(entity));
    }
    try {
      sink.record(e);
    } catch (RuntimeException ex) {
      LOG.warn("audit sink failed for {} ({}); the request itself went on", subtype,
          ex.getClass().getSimpleName());
    }
  }
}
