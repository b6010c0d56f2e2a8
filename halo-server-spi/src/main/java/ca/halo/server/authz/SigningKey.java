package ca.halo.server.authz;

import com.nimbusds.jose.jwk.RSAKey;
import java.text.ParseException;
import java.time.Instant;
import java.util.Objects;

/**
 * One signing key of the authorization server: an RSA private key (as a JWK), its key id, and
 * the instant from which it signs. A newer key supersedes it; it stays published (so tokens it
 * signed still validate) for the longest token lifetime after that.
 *
 * <p>Immutable. {@link #toString()} prints the key id only, never key material.
 */
public final class SigningKey {
  private final RSAKey key;
  private final Instant activeFrom;

  private SigningKey(RSAKey key, Instant activeFrom) {
    this.key = Objects.requireNonNull(key, "key");
    this.activeFrom = Objects.requireNonNull(activeFrom, "activeFrom");
    if (!key.isPrivate() || key.getKeyID() == null) {
      throw new IllegalArgumentException("a signing key must hold its private part and a kid");
    }
  }

  public static SigningKey of(RSAKey key, Instant activeFrom) {
    return new SigningKey(key, activeFrom);
  }

  /** Reads {@link #privateJwk()}. @throws IllegalArgumentException if it is not an RSA private JWK */
  public static SigningKey parse(String privateJwk, Instant activeFrom) {
    try {
      return new SigningKey(RSAKey.parse(privateJwk), activeFrom);
    } catch (ParseException e) {
      throw new IllegalArgumentException("not an RSA private JWK", e);
    }
  }

  public String kid() {
    return key.getKeyID();
  }

  public RSAKey key() {
    return key;
  }

  /** The private JWK as JSON: secret, for a store to keep. */
  public String privateJwk() {
    return key.toJSONString();
  }

  public Instant activeFrom() {
    return activeFrom;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SigningKey && ((SigningKey) o).kid().equals(kid())
        && ((SigningKey) o).activeFrom.equals(activeFrom);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kid(), activeFrom);
  }

  @Override
  public String toString() {
    return "SigningKey{kid=" + kid() + ", activeFrom=" + activeFrom + "}";
  }
}
