package ca.halo.server.sofa;

import org.hl7.fhir.r4.model.Resource;

/**
 * Told of every resource created or updated in the SoFA within a live launch session, by the PoC
 * ({@code $set-context}) or by an app (a write-back). The subscription engine listens here.
 *
 * <p>Called on the request thread after the write is committed; implementations return quickly
 * and must not throw.
 */
@FunctionalInterface
public interface ResourceChangeListener {
  /** {@code created} is false for an update. {@code resource} is a copy the listener may keep. */
  void changed(Resource resource, boolean created, String sessionId);
}
