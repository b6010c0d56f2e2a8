package ca.halo.server.fhir;

import ca.halo.core.HaloException;

/**
 * A repository refused an operation. {@link #httpStatus()} is what the SoFA answers and
 * {@link #location()} names the offending entry or element (for the OperationOutcome).
 */
public final class FhirRepositoryException extends HaloException {
  private static final long serialVersionUID = 1L;
  private final int httpStatus;
  private final String location;

  public FhirRepositoryException(int httpStatus, String location, String message) {
    super(message);
    this.httpStatus = httpStatus;
    this.location = location;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String location() {
    return location;
  }
}
