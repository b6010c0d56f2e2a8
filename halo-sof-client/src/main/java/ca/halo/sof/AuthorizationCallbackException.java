package ca.halo.sof;

import ca.halo.core.HaloParseException;

/**
 * The redirect back to the app cannot be accepted: its {@code state} does not match the pending
 * authorization (a possible CSRF or mixed-up session), it carries no code, or the pending
 * authorization has expired. Discard the pending authorization and start again.
 */
public final class AuthorizationCallbackException extends HaloParseException {
  private static final long serialVersionUID = 1L;

  AuthorizationCallbackException(String message) {
    super(message);
  }
}
