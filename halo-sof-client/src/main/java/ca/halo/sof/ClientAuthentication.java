package ca.halo.sof;

import ca.halo.core.HaloException;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.PrivateKeyJWT;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.id.ClientID;
import java.net.URI;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.text.ParseException;
import java.util.Objects;

/**
 * How a SMART client proves its identity at the token endpoint: as a public client (sends only
 * {@code client_id}), with {@code client_secret_basic}, or with {@code private_key_jwt}
 * (an RS384 or ES384 client assertion, SMART App Launch 2.1.0 section 7 and RFC 7523).
 *
 * <pre>{@code
 * ClientAuthentication auth = ClientAuthentication.privateKeyJwt("my-app", key, "kid-1", "ES384");
 * }</pre>
 *
 * <p>Immutable and thread-safe. Each assertion gets a fresh random {@code jti} and expires five
 * minutes after it is made. {@link #toString()} never prints secrets or keys.
 */
public final class ClientAuthentication {
  /** The three kinds SMART 2.1 names. */
  public enum Method {
    NONE,
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT
  }

  private final Method method;
  private final String clientId;
  private final String secret;
  private final PrivateKey key;
  private final String keyId;
  private final JWSAlgorithm algorithm;

  private ClientAuthentication(
      Method method, String clientId, String secret, PrivateKey key, String keyId,
      JWSAlgorithm algorithm) {
    Objects.requireNonNull(clientId, "clientId");
    if (clientId.isBlank()) {
      throw new IllegalArgumentException("clientId must not be blank");
    }
    this.method = method;
    this.clientId = clientId;
    this.secret = secret;
    this.key = key;
    this.keyId = keyId;
    this.algorithm = algorithm;
  }

  /** A public client: PKCE protects the code, {@code client_id} identifies the app. */
  public static ClientAuthentication publicClient(String clientId) {
    return new ClientAuthentication(Method.NONE, clientId, null, null, null, null);
  }

  /** A confidential client with a shared secret, sent as HTTP Basic (RFC 6749 section 2.3.1). */
  public static ClientAuthentication clientSecretBasic(String clientId, String secret) {
    Objects.requireNonNull(secret, "secret");
    if (secret.isEmpty()) {
      throw new IllegalArgumentException("secret must not be empty");
    }
    return new ClientAuthentication(Method.CLIENT_SECRET_BASIC, clientId, secret, null, null,
        null);
  }

  /**
   * A confidential client that signs a JWT assertion with its private key.
   *
   * @param algorithm {@code RS384} (RSA key) or {@code ES384} (P-384 EC key), as SMART 2.1
   *     requires servers to support
   */
  public static ClientAuthentication privateKeyJwt(
      String clientId, PrivateKey key, String keyId, String algorithm) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(keyId, "keyId");
    JWSAlgorithm alg = JWSAlgorithm.parse(Objects.requireNonNull(algorithm, "algorithm"));
    if (alg.equals(JWSAlgorithm.RS384)) {
      if (!(key instanceof RSAPrivateKey)) {
        throw new IllegalArgumentException("RS384 needs an RSA private key");
      }
    } else if (alg.equals(JWSAlgorithm.ES384)) {
      if (!(key instanceof ECPrivateKey)) {
        throw new IllegalArgumentException("ES384 needs an EC (P-384) private key");
      }
    } else {
      throw new IllegalArgumentException(
          "SMART 2.1 client assertions use RS384 or ES384, not " + algorithm);
    }
    return new ClientAuthentication(Method.PRIVATE_KEY_JWT, clientId, null, key, keyId, alg);
  }

  /**
   * A {@code private_key_jwt} client whose key is a private JWK (JSON text with {@code kid} and
   * {@code alg} RS384 or ES384).
   */
  public static ClientAuthentication privateKeyJwtFromJwk(String clientId, String privateJwkJson) {
    try {
      JWK jwk = JWK.parse(privateJwkJson);
      if (jwk.getKeyID() == null || jwk.getAlgorithm() == null) {
        throw new IllegalArgumentException("the JWK needs 'kid' and 'alg'");
      }
      PrivateKey key = jwk instanceof RSAKey ? ((RSAKey) jwk).toPrivateKey()
          : jwk instanceof ECKey ? ((ECKey) jwk).toPrivateKey() : null;
      if (key == null) {
        throw new IllegalArgumentException("the JWK must be an RSA or EC private key");
      }
      return privateKeyJwt(clientId, key, jwk.getKeyID(), jwk.getAlgorithm().getName());
    } catch (ParseException | JOSEException e) {
      throw new IllegalArgumentException("not a private JWK: " + e.getMessage(), e);
    }
  }

  public Method method() {
    return method;
  }

  public String clientId() {
    return clientId;
  }

  /** The Nimbus form; {@code null} for a public client (which sends client_id instead). */
  com.nimbusds.oauth2.sdk.auth.ClientAuthentication toNimbus(URI tokenEndpoint) {
    switch (method) {
      case CLIENT_SECRET_BASIC:
        return new ClientSecretBasic(new ClientID(clientId), new Secret(secret));
      case PRIVATE_KEY_JWT:
        try {
          // Nimbus sets iss = sub = client_id, aud = token endpoint, a random jti and exp 5 min.
          return new PrivateKeyJWT(
              new ClientID(clientId), tokenEndpoint, algorithm, key, keyId, null);
        } catch (JOSEException e) {
          throw new HaloException("cannot sign the client assertion: " + e.getMessage(), e);
        }
      default:
        return null;
    }
  }

  @Override
  public String toString() {
    return "ClientAuthentication{" + method + ", clientId=" + clientId
        + (keyId != null ? ", kid=" + keyId + ", alg=" + algorithm : "") + "}";
  }
}
