package ca.halo.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.util.Date;
import org.junit.jupiter.api.Test;

class JwtTokenValidatorTest {
  @Test
  void toPrincipal_oneMalformedScope_dropsOnlyThatOne_item8() {
    Principal p = JwtTokenValidator.toPrincipal(new JWTClaimsSet.Builder().subject("s")
        .claim("client_id", "c").claim("scope", "patient/Observation.rx user/*.rs system/Context.admin")
        .build());
    assertThat(p.scopes().format()).isEqualTo("user/*.rs system/Context.admin");
  }

  /** HS256 is refused unless the validator is told it checks its own tokens (issue 18). */
  @Test
  void hs256_refusedByDefault_acceptedOnlyWithAcceptOwnHmac_andOnlyUnderTheRightSecret() throws Exception {
    OctetSequenceKey key = new OctetSequenceKeyGenerator(256).keyID("k1").generate();
    OctetSequenceKey other = new OctetSequenceKeyGenerator(256).keyID("k1").generate();
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("https://as.example").audience("https://fhir.example")
        .subject("s").claim("client_id", "c").claim("scope", "user/*.rs")
        .expirationTime(new Date(System.currentTimeMillis() + 60_000)).build();
    String good = sign(claims, key);
    String foreign = sign(claims, other);
    JwtTokenValidator.Builder b = JwtTokenValidator.builder(() -> new JWKSet(key))
        .issuer(URI.create("https://as.example")).audience("https://fhir.example");
    assertThat(b.build().validate(good)).isEmpty();
    JwtTokenValidator own = b.acceptOwnHmac(true).build();
    assertThat(own.validate(good)).get().extracting(Principal::clientId).isEqualTo("c");
    assertThat(own.validate(foreign)).isEmpty();
  }

  /** A token seen before is answered from memory, but never past its expiry or its revocation. */
  @Test
  void aCheckedToken_stillExpiresAndIsStillRevoked() throws Exception {
    ca.halo.server.TestClock clock = new ca.halo.server.TestClock(java.time.Instant.parse("2026-01-01T08:00:00Z"));
    OctetSequenceKey key = new OctetSequenceKeyGenerator(256).keyID("k1").generate();
    java.util.Set<String> revokedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    JwtTokenValidator v = JwtTokenValidator.builder(() -> new JWKSet(key)).acceptOwnHmac(true)
        .issuer(URI.create("https://as.example")).audience("https://fhir.example")
        .revoked(revokedIds::contains).clock(clock).build();
    java.util.function.Function<String, String> token = jti -> {
      try {
        return sign(new JWTClaimsSet.Builder().issuer("https://as.example").audience("https://fhir.example")
            .subject("s").claim("client_id", "c").jwtID(jti)
            .expirationTime(Date.from(clock.instant().plusSeconds(300))).build(), key);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    String a = token.apply("a");
    String b = token.apply("b");
    assertThat(v.validate(a)).isPresent();
    assertThat(v.validate(b)).isPresent();
    assertThat(v.validate(a)).as("from memory").isPresent();
    revokedIds.add("b");
    assertThat(v.validate(b)).as("revoked after it was checked").isEmpty();
    clock.advance(java.time.Duration.ofSeconds(300 + 59));
    assertThat(v.validate(a)).as("within the 60 s skew").isPresent();
    clock.advance(java.time.Duration.ofSeconds(2));
    assertThat(v.validate(a)).as("expired after it was checked").isEmpty();
  }

  /** A token seen before is refused once its key leaves the set (attacker's review, F2). */
  @Test
  void aCheckedToken_refusedOnceItsKeyIsWithdrawn() throws Exception {
    OctetSequenceKey key = new OctetSequenceKeyGenerator(256).keyID("k1").generate();
    java.util.concurrent.atomic.AtomicReference<JWKSet> set = new java.util.concurrent.atomic.AtomicReference<>(new JWKSet(key));
    JwtTokenValidator v = JwtTokenValidator.builder(set::get).acceptOwnHmac(true)
        .issuer(URI.create("https://as.example")).audience("https://fhir.example").build();
    String t = sign(new JWTClaimsSet.Builder().issuer("https://as.example").audience("https://fhir.example")
        .subject("s").claim("client_id", "c").jwtID("j")
        .expirationTime(new Date(System.currentTimeMillis() + 300_000)).build(), key);
    assertThat(v.validate(t)).isPresent();
    assertThat(v.validate(t)).isPresent();
    set.set(new JWKSet());
    assertThat(v.validate(t)).isEmpty();
  }

  private static String sign(JWTClaimsSet claims, OctetSequenceKey key) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new MACSigner(key));
    return jwt.serialize();
  }
}
