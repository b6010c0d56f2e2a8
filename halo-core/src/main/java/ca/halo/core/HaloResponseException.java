package ca.halo.core;

import java.util.Optional;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The peer answered with an error: an HTTP error status, an RFC 6749 error body, or a FHIR
 * OperationOutcome.
 *
 * <pre>{@code
 * throw HaloResponseException.http("JWKS at " + uri + " answered HTTP 503", 503);
 * throw HaloResponseException.oauth("token request refused", 400, "invalid_grant", null);
 * throw HaloResponseException.fhir("$events refused (HTTP 404): ...", 404, outcome);
 * }</pre>
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

  /**
   * For subclasses that name a cause; everyone else uses the static factories.
   *
   * @param httpStatus the HTTP status, or 0 if there was none
   * @param oauthError the RFC 6749 {@code error} code, or {@code null}
   * @param oauthErrorDescription the RFC 6749 {@code error_description}, or {@code null}
   * @param operationOutcome the FHIR OperationOutcome of the answer, or {@code null}
   */
  protected HaloResponseException(
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

  /**
   * The peer answered with an HTTP error status and nothing more to say (no OAuth error body, no
   * OperationOutcome). {@code message} says what was asked and what to do next.
   */
  public static HaloResponseException http(String message, int httpStatus) {
    return new HaloResponseException(message, httpStatus, null, null, null);
  }

  /**
   * The peer answered successfully at the HTTP level, but what it answered is a failure (for
   * example a subscription that went to {@code error}). {@link #httpStatus()} is 0.
   */
  public static HaloResponseException of(String message) {
    return new HaloResponseException(message, 0, null, null, null);
  }

  /**
   * An OAuth 2.0 error answer (RFC 6749 section 5.2 or 4.1.2.1). The message is
   * {@code what: HTTP status, error=code (description)}; the parts the answer lacked are left
   * out.
   *
   * @param httpStatus the HTTP status, or 0 for an error delivered on a redirect
   * @param error the {@code error} code, or {@code null} if the body had none
   * @param description the {@code error_description}, or {@code null}
   */
  public static HaloResponseException oauth(
      String what, int httpStatus, String error, String description) {
    StringBuilder m = new StringBuilder(what);
    String sep = ": ";
    if (httpStatus > 0) {
      m.append(sep).append("HTTP ").append(httpStatus);
      sep = ", ";
    }
    if (error != null) {
      m.append(sep).append("error=").append(error);
    }
    if (description != null && !description.isBlank()) {
      m.append(" (").append(description).append(')');
    }
    return new HaloResponseException(m.toString(), httpStatus, error, description, null);
  }

  /**
   * A FHIR server refused the request, with the OperationOutcome it answered ({@code null} if
   * it sent none).
   */
  public static HaloResponseException fhir(
      String message, int httpStatus, OperationOutcome operationOutcome) {
    return new HaloResponseException(message, httpStatus, null, null, operationOutcome);
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
