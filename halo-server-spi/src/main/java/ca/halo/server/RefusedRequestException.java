package ca.halo.server;

import ca.halo.core.HaloException;

/**
 * A server-side component refused a request: the HTTP status to answer and the parameter, entry
 * or element at fault (for the OperationOutcome's {@code expression}). Subclasses name the
 * component: {@code ContextOperationException}, {@code FhirRepositoryException}, {@code SubscriptionException}.
 */
public abstract class RefusedRequestException extends HaloException {
  private static final long serialVersionUID = 1L;
  private final int httpStatus;
  private final String location;

  protected RefusedRequestException(int httpStatus, String location, String message) {
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
