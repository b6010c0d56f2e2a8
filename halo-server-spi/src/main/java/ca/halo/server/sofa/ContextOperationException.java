package ca.halo.server.sofa;

import ca.halo.server.RefusedRequestException;

/**
 * {@code $set-context} or {@code $clear-context} refused a request; the HTTP layer turns the
 * status and location into an OperationOutcome.
 */
public final class ContextOperationException extends RefusedRequestException {
  private static final long serialVersionUID = 1L;

  public ContextOperationException(int httpStatus, String location, String message) {
    super(httpStatus, location, message);
  }
}
