package ca.halo.server.sofa;

import org.hl7.fhir.r4.model.Resource;

/**
 * Told of every resource created or updated through the SoFA's FHIR API: an app's write-back, an
 * update to a resource {@code $set-context} stored, or a change to the server's own data. The
 * subscription engine listens here: this is the HALO topic "SOFA Content Update", which fires
 * "when a resource stored through {@code $set-context} is changed, or a new resource is created
 * in the SoFA (e.g. an app's write-back)" (CA:FSub; docs/halo-specification-reading.md).
 *
 * <pre>{@code
 * SofaServer.builder()...onContextManager(m -> m.addChangeListener(
 *     (resource, created, sessionId) -> LOG.debug("{} {}", created ? "created" : "updated",
 *         resource.fhirType())));
 * }</pre>
 *
 * <p><b>Not told</b> of the resources {@code $set-context} itself uploads, nor of what
 * {@code $clear-context} or expiry deletes. Decision: write-backs flow to the EMR; the uploads
 * came from the EMR (the PoC has them already, and its subscription for the launch can only be
 * made once the launch exists), so announcing them would only echo the EMR's own data back to it
 * and number events no app caused. A subscriber hears what happened in the SoFA after the
 * context was set. {@code ResourceChangeListenerTest} holds this.
 *
 * <p>Called on the request thread after the write is committed, with a copy the listener may
 * keep; implementations return quickly and must not throw (a thrown exception is logged at WARN
 * and ignored). Thread-safe implementations required: requests run in parallel.
 */
@FunctionalInterface
public interface ResourceChangeListener {
  /**
   * {@code created} is false for an update. {@code resource} is a copy the listener may keep.
   * {@code sessionId} is the launch session the resource belongs to, or {@code null} for the
   * server's own (untagged) data.
   */
  void changed(Resource resource, boolean created, String sessionId);
}
