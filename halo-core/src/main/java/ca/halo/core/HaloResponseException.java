package ca.halo.core;

import java.util.Optional;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The peer answered with an error: an HTTP error status, an RFC 6749 error body, or a FHIR
 * OperationOutcome.
 *
 * <p>{@link #httpStatus()} is 0 when the error did not come with an HTTP status (for example an
 * OAuth error delivered on the authorization redirect).
 */
public class HaloResponseException extends HaloException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final String oauthError;
  private final String oauthErrorDescription;
  private final transient OperationOutcome operationOutcome;

  public HaloResponseException(
      String message,
      int httpStatus,
      String oauthError,
      String oauthErrorDescription,
      OperationOutcome operationOutcome) {
    super(message);
    this.httpStatus = httpStatus;
    this.oauthError = oauthError;
    this.oauthErrorDescription = oauthErrorDescription;
    this.operationOutcome = operationOutcome;
  }

  /** An OAuth 2.0 error answer (RFC 6749 section 5.2 or 4.1.2.1). */
  public static HaloResponseException oauth(
      String what, int httpStatus, String error, String description) {
    StringBuilder m = new StringBuilder(what).append(": ");
    if (httpStatus > 0) {
      m.append("HTTP ").append(httpStatus).append(", ");
    }
    m.append("error=").append(error);
    if (description != null && !description.isBlank()) {
      m.append(" (").append(description).append(')');
    }
    return new HaloResponseException(m.toString(), httpStatus, error, description, null);
  }

  /** The HTTP status of the answer, or 0 if there was none. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The RFC 6749 {@code error} code, when the answer carried one. */
  public Optional<String> oauthError() {
    return Optional.ofNullable(oauthError);
  }

  /** The RFC 6749 {@code error_description}, when the answer carried one. */
  public Optional<String> oauthErrorDescription() {
    return Optional.ofNullable(oauthErrorDescription);
  }

  /** The FHIR OperationOutcome of the answer, when it carried one. */
  public Optional<OperationOutcome> operationOutcome() {
    return Optional.ofNullable(operationOutcome);
  }
}
