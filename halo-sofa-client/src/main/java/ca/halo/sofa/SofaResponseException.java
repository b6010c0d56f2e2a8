package ca.halo.sofa;

import ca.halo.core.HaloResponseException;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The SoFA refused a request. Subclasses name the cause; {@link #operationOutcome()} has the
 * server's details, {@link #location()} the parameter or entry at fault.
 */
public class SofaResponseException extends HaloResponseException {
  private static final long serialVersionUID = 1L;
  private final String location;

  SofaResponseException(String message, int status, OperationOutcome oo, String location) {
    super(message, status, null, null, oo);
    this.location = location == null ? "" : location;
  }

  /** The parameter or Bundle entry the SoFA named, or empty. */
  public String location() {
    return location;
  }

  /** 400 or 422: the request or a resource is wrong; fix the named parameter or entry. */
  public static final class InvalidContext extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    InvalidContext(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }

  /** 401: the access token is missing, expired or revoked; sign the clinician in again. */
  public static final class Unauthenticated extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    Unauthenticated(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }

  /** 403: the token lacks the scope {@code $set-context} needs (user/ or system/Context.write). */
  public static final class Forbidden extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    Forbidden(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }

  /** 404: a referenced resource, or the launch id, is unknown to the SoFA. */
  public static final class NotFound extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    NotFound(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }

  /** 413: the request is larger than the SoFA accepts; upload fewer or smaller resources. */
  public static final class TooLarge extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    TooLarge(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }

  /** 5xx: the SoFA is unavailable or failed; retrying later may help. */
  public static final class Unavailable extends SofaResponseException {
    private static final long serialVersionUID = 1L;

    Unavailable(String m, int s, OperationOutcome oo, String l) {
      super(m, s, oo, l);
    }
  }
}
