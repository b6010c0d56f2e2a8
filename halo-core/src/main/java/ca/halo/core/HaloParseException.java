package ca.halo.core;

/**
 * A peer's answer breaks the specification: a smart-configuration without a required field, a
 * token response without {@code access_token}, a forged id_token, a redirect whose {@code state}
 * does not match. Retrying does not help.
 */
public class HaloParseException extends HaloException {
  private static final long serialVersionUID = 1L;

  public HaloParseException(String message) {
    super(message);
  }

  public HaloParseException(String message, Throwable cause) {
    super(message, cause);
  }
}
