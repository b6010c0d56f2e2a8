package ca.halo.server.audit;

import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.hl7.fhir.r4.model.AuditEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the last {@code capacity} audit events in memory and logs a one-line summary of each at
 * DEBUG (action, outcome, type; no patient data).
 *
 * <p>Thread-safe. For development and tests; a jurisdiction writes its own sink to its audit
 * repository.
 */
public final class InMemoryAuditSink implements AuditSink {
  private static final Logger LOG = LoggerFactory.getLogger(InMemoryAuditSink.class);
  private final int capacity;
  private final Deque<AuditEvent> events = new ArrayDeque<>();

  public InMemoryAuditSink(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.capacity = capacity;
  }

  public InMemoryAuditSink() {
    this(10_000);
  }

  @Override
  public synchronized void record(AuditEvent event) {
    if (event == null) {
      LOG.debug("audit: no event given; nothing recorded");
      return;
    }
    if (events.size() == capacity) {
      events.removeFirst();
    }
    events.addLast(event);
    if (LOG.isDebugEnabled()) {
      LOG.debug("audit {} {} outcome={}",
          event.hasSubtype() ? event.getSubtype().get(0).getCode() : null,
          event.getAction(), event.getOutcome());
    }
  }

  /** A copy of the events kept, oldest first. */
  public synchronized List<AuditEvent> events() {
    return new ArrayList<>(events);
  }

  public synchronized void clear() {
    events.clear();
  }
}
