package ca.halo.conformance.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2). */
public final class Pkce {
  private static final SecureRandom RANDOM = new SecureRandom();
  public final String verifier;
  public final String challenge;

  private Pkce(String verifier) {
    this.verifier = verifier;
    this.challenge = s256(verifier);
  }

  public static Pkce create() {
    return new Pkce(random(32));
  }

  public static String random(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  public static String s256(String verifier) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
