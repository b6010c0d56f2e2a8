package ca.halo.core;

/** The request did not complete: I/O error, timeout, TLS failure, or insecure transport refused. */
public class HaloTransportException extends HaloException {
  private static final long serialVersionUID = 1L;

  public HaloTransportException(String message) {
    super(message);
  }

  public HaloTransportException(String message, Throwable cause) {
    super(message, cause);
  }
}
