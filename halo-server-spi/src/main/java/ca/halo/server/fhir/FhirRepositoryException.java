package ca.halo.server.fhir;

import ca.halo.server.RefusedRequestException;

/** A repository refused an operation; {@link #httpStatus()} is what the SoFA answers. */
public final class FhirRepositoryException extends RefusedRequestException {
  private static final long serialVersionUID = 1L;

  public FhirRepositoryException(int httpStatus, String location, String message) {
    super(httpStatus, location, message);
  }
}
