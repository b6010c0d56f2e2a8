package ca.halo.server.context;

import ca.halo.core.HaloException;

/**
 * A new context would take its owner (the PoC client and user that set it) past its share of the
 * store; the SoFA answers 429 and the owner may clear contexts it no longer needs.
 */
public final class OwnerShareExceededException extends HaloException {
  private static final long serialVersionUID = 1L;

  public OwnerShareExceededException(int maxContexts, long maxBytes) {
    super("this caller holds its maximum of live contexts (" + maxContexts + " contexts, "
        + maxBytes + " bytes); clear contexts it no longer needs ($clear-context) and retry");
  }
}
