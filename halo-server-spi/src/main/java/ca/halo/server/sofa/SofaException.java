package ca.halo.server.sofa;

import ca.halo.core.HaloException;

/**
 * A SoFA operation refused a request. {@link #httpStatus()} is the answer's status and
 * {@link #location()} names the offending parameter or Bundle entry; the HTTP layer turns both
 * into an OperationOutcome.
 */
public final class SofaException extends HaloException {
  private static final long serialVersionUID = 1L;
  private final int httpStatus;
  private final String location;

  public SofaException(int httpStatus, String location, String message) {
    super(message);
    this.httpStatus = httpStatus;
    this.location = location;
  }

  public int httpStatus() {
    return httpStatus;
  }

  /** The parameter or element at fault, as a FHIRPath-like expression; may be empty. */
  public String location() {
    return location == null ? "" : location;
  }
}
