package ca.halo.server.context;

import ca.halo.core.HaloException;

/** The context store is at capacity; the SoFA answers 503 and the PoC may retry later. */
public final class ContextStoreFullException extends HaloException {
  private static final long serialVersionUID = 1L;

  public ContextStoreFullException(int capacity) {
    super("the SoFA holds its maximum of " + capacity + " live launch contexts; retry later");
  }
}
