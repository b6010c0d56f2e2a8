package ca.halo.sof;

import ca.halo.core.HaloParseException;

/**
 * The id_token failed validation: bad signature, unknown key, wrong issuer or audience, expired,
 * or a nonce that does not match. The tokens of that response must not be used.
 */
public final class IdTokenException extends HaloParseException {
  private static final long serialVersionUID = 1L;

  IdTokenException(String message, Throwable cause) {
    super(message, cause);
  }
}
