package ca.halo.server.subscription;

import ca.halo.server.RefusedRequestException;

/** The subscription engine refused a request (bad Subscription, unknown id, wrong owner). */
public final class SubscriptionException extends RefusedRequestException {
  private static final long serialVersionUID = 1L;

  public SubscriptionException(int httpStatus, String location, String message) {
    super(httpStatus, location, message);
  }
}
