package ca.halo.server.sofa;

import org.hl7.fhir.r4.model.Resource;

/**
 * Told of every resource created or updated through the SoFA's FHIR API (an app's write-back, or
 * a change to what {@code $set-context} stored); not of what {@code $set-context} itself uploads
 * (the PoC has it already). The subscription engine listens here (the HALO topic "SOFA Content
 * Update").
 *
 * <p>Called on the request thread after the write is committed; implementations return quickly
 * and must not throw.
 */
@FunctionalInterface
public interface ResourceChangeListener {
  /**
   * {@code created} is false for an update. {@code resource} is a copy the listener may keep.
   * {@code sessionId} is the launch session the resource belongs to, or null for the server's own
   * data.
   */
  void changed(Resource resource, boolean created, String sessionId);
}
