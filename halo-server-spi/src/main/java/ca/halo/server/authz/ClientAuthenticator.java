package ca.halo.server.authz;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.MessageDigest;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Authenticates the client at the token, introspection and revocation endpoints:
 * {@code client_secret_basic}, {@code private_key_jwt} (RFC 7523 section 3: RS384 or ES384
 * signature by a key of the client, iss = sub = client id, aud = the token endpoint or the
 * issuer, exp at most five minutes ahead by the injected clock, {@code jti} used once), or a
 * public client naming itself.
 *
 * <p>Why not Nimbus's {@code ClientAuthenticationVerifier}: it judges {@code exp} by the system
 * clock rather than the injected {@link Clock}, and it asks its {@code ExpendedJTIChecker}
 * whether a {@code jti} was used before verifying the signature and records it afterwards: a
 * check-then-act that two concurrent requests pass together. Here the {@code jti} is recorded by
 * one atomic check-and-insert ({@link AuthorizationStateStore#recordAssertionJti}) and only after
 * the signature verified, so unauthenticated requests cannot fill that table. Nimbus still
 * parses the Basic header and verifies the signatures.
 *
 * <p>Thread-safe.
 */
final class ClientAuthenticator {
  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  private static final Set<JWSAlgorithm> ASSERTION_ALGS = Set.of(JWSAlgorithm.RS384, JWSAlgorithm.ES384);
  private static final Duration MAX_AHEAD = Duration.ofMinutes(5);
  private static final Duration SKEW = Duration.ofSeconds(60);

  /** The authenticated client, or the error to answer. */
  static final class Result {
    final RegisteredClient client;
    final OAuthHttpResponse error;

    private Result(RegisteredClient client, OAuthHttpResponse error) {
      this.client = client;
      this.error = error;
    }

    static Result ok(RegisteredClient c) {
      return new Result(c, null);
    }

    static Result fail(String why) {
      return new Result(null, OAuthHttpResponse.error(401, "invalid_client", why));
    }
  }

  private final ClientRegistry clients;
  private final AuthorizationStateStore store;
  private final Clock clock;
  private final Set<String> audiences;

  ClientAuthenticator(ClientRegistry clients, AuthorizationStateStore store, Clock clock,
      URI tokenEndpoint, URI issuer) {
    this.clients = clients;
    this.store = store;
    this.clock = clock;
    this.audiences = Set.of(tokenEndpoint.toString(), issuer.toString());
  }

  Result authenticate(Map<String, String> p, String authorization) {
    if (authorization != null && authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return basic(authorization);
    }
    if (p.containsKey("client_assertion")) {
      return assertion(p);
    }
    if (p.containsKey("client_secret")) {
      return Result.fail("client_secret_post is not supported; use client_secret_basic");
    }
    String id = p.get("client_id");
    RegisteredClient c = id == null ? null : clients.find(id).orElse(null);
    if (c == null) {
      return Result.fail("unknown client");
    }
    if (c.type() != RegisteredClient.Type.PUBLIC) {
      return Result.fail("this client must authenticate (client_secret_basic or private_key_jwt)");
    }
    return Result.ok(c);
  }

  private Result basic(String authorization) {
    ClientSecretBasic b;
    try {
      b = ClientSecretBasic.parse(authorization);
    } catch (com.nimbusds.oauth2.sdk.ParseException | RuntimeException e) {
      return Result.fail("client authentication failed");
    }
    RegisteredClient c = clients.find(b.getClientID().getValue()).orElse(null);
    byte[] given = b.getClientSecret().getValue().getBytes(StandardCharsets.UTF_8);
    if (c == null || c.type() != RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC
        || !MessageDigest.isEqual(c.secret().orElse("").getBytes(StandardCharsets.UTF_8), given)) {
      return Result.fail("client authentication failed");
    }
    return Result.ok(c);
  }

  private Result assertion(Map<String, String> p) {
    if (!JWT_BEARER.equals(p.get("client_assertion_type"))) {
      return Result.fail("client_assertion_type must be " + JWT_BEARER);
    }
    try {
      SignedJWT jwt = SignedJWT.parse(p.get("client_assertion"));
      JWTClaimsSet c = jwt.getJWTClaimsSet();
      String clientId = c.getIssuer();
      RegisteredClient client = clientId == null ? null : clients.find(clientId).orElse(null);
      if (client == null || client.type() != RegisteredClient.Type.CONFIDENTIAL_ASYMMETRIC) {
        return Result.fail("unknown client or not a private_key_jwt client");
      }
      if (p.get("client_id") != null && !p.get("client_id").equals(clientId)) {
        return Result.fail("client_id does not match the assertion");
      }
      if (!ASSERTION_ALGS.contains(jwt.getHeader().getAlgorithm())) {
        return Result.fail("client assertions must be signed with RS384 or ES384");
      }
      if (!clientId.equals(c.getSubject())) {
        return Result.fail("assertion iss and sub must both be the client id");
      }
      if (c.getAudience() == null || c.getAudience().stream().noneMatch(audiences::contains)) {
        return Result.fail("assertion aud must be the token endpoint");
      }
      Instant now = clock.instant();
      if (c.getExpirationTime() == null || !now.isBefore(c.getExpirationTime().toInstant())) {
        return Result.fail("assertion expired");
      }
      Instant exp = c.getExpirationTime().toInstant();
      if (exp.isAfter(now.plus(MAX_AHEAD).plus(SKEW))) {
        return Result.fail("assertion exp is more than five minutes ahead");
      }
      if (c.getJWTID() == null || c.getJWTID().isBlank() || c.getJWTID().length() > 256) {
        return Result.fail("assertion needs a jti (at most 256 characters)");
      }
      if (!verified(jwt, JWKSet.parse(client.jwksJson().orElseThrow()))) {
        return Result.fail("assertion signature does not verify against the client's keys");
      }
      switch (store.recordAssertionJti(clientId, c.getJWTID(), exp.plus(SKEW))) {
        case ACCEPTED:
          return Result.ok(client);
        case REPLAYED:
          return Result.fail("assertion jti was already used");
        default:
          return new Result(null, OAuthHttpResponse.error(503, "temporarily_unavailable",
              "too many client assertions in flight; try again shortly"));
      }
    } catch (ParseException | JOSEException | RuntimeException e) {
      return Result.fail("malformed client assertion");
    }
  }

  private static boolean verified(SignedJWT jwt, JWKSet keys) throws JOSEException {
    List<JWK> candidates = new JWKSelector(new JWKMatcher.Builder()
        .keyID(jwt.getHeader().getKeyID()).build()).select(keys);
    for (JWK k : candidates) {
      if (k.getKeyUse() != null && k.getKeyUse() != KeyUse.SIGNATURE) {
        continue;
      }
      Key pub = k instanceof RSAKey ? ((RSAKey) k).toPublicKey()
          : k instanceof ECKey ? ((ECKey) k).toPublicKey() : null;
      if (pub != null && jwt.verify(new DefaultJWSVerifierFactory().createJWSVerifier(jwt.getHeader(), pub))) {
        return true;
      }
    }
    return false;
  }
}
