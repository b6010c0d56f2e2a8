package ca.halo.server.audit;

import java.util.List;
import org.hl7.fhir.r4.model.AuditEvent;

class InMemoryAuditSinkTest extends AuditSinkContract {
  @Override
  protected AuditSink newSink() {
    return new InMemoryAuditSink();
  }

  @Override
  protected List<AuditEvent> recorded(AuditSink sink) {
    return ((InMemoryAuditSink) sink).events();
  }
}
