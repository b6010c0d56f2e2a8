package ca.halo.server.subscription;

import ca.halo.core.HaloException;

/** A subscription request refused: HTTP status and the element at fault. */
public final class SubscriptionException extends HaloException {
  private static final long serialVersionUID = 1L;
  private final int httpStatus;
  private final String location;

  public SubscriptionException(int httpStatus, String location, String message) {
    super(message);
    this.httpStatus = httpStatus;
    this.location = location;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String location() {
    return location == null ? "" : location;
  }
}
