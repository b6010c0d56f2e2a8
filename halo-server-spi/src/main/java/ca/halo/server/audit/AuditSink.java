package ca.halo.server.audit;

import org.hl7.fhir.r4.model.AuditEvent;

/**
 * Receives an R4 {@link AuditEvent} for every {@code $set-context}, {@code $clear-context},
 * context expiry, token issue, FHIR read or write, and notification delivery (HALO requirement
 *
 *
 * <p>Implementations are thread-safe and must not throw: an audit failure is logged by the
 * implementation, never turned into a failed clinical request. Events carry references and ids,
 * never resource bodies.
 */
public interface AuditSink {
  void record(AuditEvent event);
}
