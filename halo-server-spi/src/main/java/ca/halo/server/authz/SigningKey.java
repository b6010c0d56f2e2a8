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
  /** Made once: a JWK turned into a JCA key on every signature cost a fifth of a token. */
  private volatile com.nimbusds.jose.JWSSigner signer;
  private volatile com.nimbusds.jose.jwk.OctetSequenceKey accessTokenKey;

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

  /** An RS256 signer over this key, made once (thread-safe; a key held in a vault works too). */
  com.nimbusds.jose.JWSSigner signer() {
    com.nimbusds.jose.JWSSigner s = signer;
    if (s == null) {
      try {
        s = new com.nimbusds.jose.crypto.RSASSASigner(key);
      } catch (com.nimbusds.jose.JOSEException e) {
        throw new IllegalStateException("cannot use signing key " + kid(), e);
      }
      signer = s;
    }
    return s;
  }

  /**
   * The HS256 key of the access tokens this key's holder issues: 256 bits derived from the
   * private key alone (HMAC-SHA256 over a fixed label and the key id, keyed with the private
   * exponent), so every node holding the key derives the same one and nothing public (the
   * published modulus and exponent, the kid) yields it. Never published. Empty when the private
   * exponent cannot be read (a key kept in a hardware or cloud vault): access tokens are then
   * RS256, as id_tokens.
   */
  java.util.Optional<com.nimbusds.jose.jwk.OctetSequenceKey> accessTokenKey() {
    com.nimbusds.jose.jwk.OctetSequenceKey k = accessTokenKey;
    if (k == null) {
      if (key.getPrivateExponent() == null) {
        return java.util.Optional.empty();
      }
      try {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key.getPrivateExponent().decode(), "HmacSHA256"));
        byte[] secret = mac.doFinal(("halo access token key v1 " + kid())
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        k = new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(secret).keyID(kid())
            .algorithm(com.nimbusds.jose.JWSAlgorithm.HS256)
            .keyUse(com.nimbusds.jose.jwk.KeyUse.SIGNATURE).build();
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException("cannot derive the access token key of " + kid(), e);
      }
      accessTokenKey = k;
    }
    return java.util.Optional.of(k);
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
