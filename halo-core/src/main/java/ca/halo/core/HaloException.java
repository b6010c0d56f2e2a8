package ca.halo.core;

/**
 * Root of every exception the HALO SDK throws. Unchecked.
 *
 * <p>Three branches tell a caller what to do next:
 * <ul>
 *   <li>{@link HaloTransportException}: the request did not complete (I/O, timeout, TLS, refused
 *       insecure transport). Retrying may help.</li>
 *   <li>{@link HaloResponseException}: the peer answered with an error (HTTP status, OAuth error,
 *       OperationOutcome). Fix the request or the credentials.</li>
 *   <li>{@link HaloParseException}: the peer's answer (or a redirect, or a token) breaks the
 *       specification. Retrying does not help; the peer or an attacker is at fault.</li>
 * </ul>
 *
 * <p>Messages never contain tokens, codes, secrets or patient data.
 */
public class HaloException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HaloException(String message) {
    super(message);
  }

  public HaloException(String message, Throwable cause) {
    super(message, cause);
  }
}
