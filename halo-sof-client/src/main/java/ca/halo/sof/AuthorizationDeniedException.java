package ca.halo.sof;

import ca.halo.core.HaloResponseException;

/**
 * The authorization server redirected back with an error ({@code access_denied},
 * {@code invalid_scope}, ...) instead of a code. RFC 6749 section 4.1.2.1. {@link #oauthError()}
 * holds the code.
 */
public final class AuthorizationDeniedException extends HaloResponseException {
  private static final long serialVersionUID = 1L;

  AuthorizationDeniedException(String error, String description) {
    super(
        "the authorization server refused the request: error=" + error
            + (description != null ? " (" + description + ")" : "")
            + ". Nothing was granted; start a new launch if the user wants to retry.",
        0, error, description, null);
  }
}
