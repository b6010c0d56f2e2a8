package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.TestClock;
import com.nimbusds.jose.jwk.JWK;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Rotation over a shared store: published ahead, kept after, one key per rotation. */
class KeyRingTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T08:00:00Z"));
  private final SigningKeyStore store = new InMemorySigningKeyStore();

  private KeyRing ring() {
    return new KeyRing(store, clock, Duration.ofDays(1), Duration.ofSeconds(60),
        Duration.ofMinutes(65), Duration.ofSeconds(30));
  }

  private static java.util.List<String> kids(KeyRing r, boolean fresh) {
    return (fresh ? r.publicKeysFresh() : r.publicKeys()).getKeys().stream().map(JWK::getKeyID).toList();
  }

  @Test
  void rotation_newKeyPublishedAheadSignsLaterAndOldKeyRetiresAfterTheLongestToken() {
    KeyRing a = ring();
    SigningKey first = a.signer();
    assertThat(a.signer()).isEqualTo(first);
    assertThat(kids(a, true)).containsExactly(first.kid());
    clock.advance(Duration.ofDays(1).minusSeconds(30)); // within publishAhead of the rotation
    a.maintain();
    SigningKey next = store.newest().orElseThrow();
    assertThat(next).isNotEqualTo(first);
    assertThat(a.signer()).as("the new key is published, not yet signing").isEqualTo(first);
    assertThat(kids(a, true)).containsExactlyInAnyOrder(first.kid(), next.kid());
    clock.advance(Duration.ofSeconds(61)); // past activeFrom (now + publishAhead at the rotation)
    assertThat(a.signer()).isEqualTo(next);
    clock.advance(Duration.ofMinutes(64));
    a.maintain();
    assertThat(kids(a, true)).as("the old key still validates what it signed").contains(first.kid());
    clock.advance(Duration.ofMinutes(2));
    a.maintain();
    assertThat(kids(a, true)).containsExactly(next.kid());
    assertThat(store.keys()).containsExactly(next);
  }

  @Test
  void twoNodes_rotateAtOnce_oneKeyAndEachAcceptsTheOthersTokens() {
    KeyRing a = ring();
    KeyRing b = ring();
    SigningKey first = a.signer();
    assertThat(b.signer()).isEqualTo(first);
    clock.advance(Duration.ofDays(1));
    a.maintain();
    b.maintain();
    assertThat(store.keys()).hasSize(2);
    // b cached its list before a's key came: an unknown kid makes it look again (once a second)
    clock.advance(Duration.ofSeconds(2));
    String next = store.newest().orElseThrow().kid();
    assertThat(kids(b, true)).contains(next);
  }

  @Test
  void fixedKey_neverRotates() {
    KeyRing r = new KeyRing(store, clock, null, Duration.ofSeconds(60), Duration.ofMinutes(65),
        Duration.ofSeconds(30));
    SigningKey k = r.signer();
    clock.advance(Duration.ofDays(400));
    r.maintain();
    assertThat(r.signer()).isEqualTo(k);
    assertThat(store.keys()).containsExactly(k);
  }

  /**
   * Two nodes on one key store derive the same access token key for a kid (so either checks the
   * other's tokens), different keys derive different secrets, the secrets are in the validation
   * set only, never the published one, and retire with their key.
   */
  @Test
  void accessTokenKeys_sameOnEveryNode_neverPublished_retireWithTheirKey() {
    KeyRing a = ring();
    KeyRing b = ring();
    SigningKey first = a.signer();
    assertThat(b.signer().accessTokenKey().orElseThrow().toByteArray()).isEqualTo(first.accessTokenKey().orElseThrow().toByteArray());
    assertThat(SigningKey.parse(first.privateJwk(), first.activeFrom()).accessTokenKey().orElseThrow().toByteArray())
        .isEqualTo(first.accessTokenKey().orElseThrow().toByteArray());
    assertThat(a.publicKeys().getKeys()).allSatisfy(k -> assertThat(k.isPrivate()).isFalse());
    assertThat(a.publicKeys().toString(false)).doesNotContain("\"oct\"");
    assertThat(a.validationKeys().getKeys()).extracting(JWK::getKeyType)
        .containsExactlyInAnyOrder(com.nimbusds.jose.jwk.KeyType.RSA, com.nimbusds.jose.jwk.KeyType.OCT);
    clock.advance(Duration.ofDays(1).minusSeconds(30));
    a.maintain();
    SigningKey next = store.newest().orElseThrow();
    assertThat(next.accessTokenKey().orElseThrow().toByteArray()).isNotEqualTo(first.accessTokenKey().orElseThrow().toByteArray());
    clock.advance(Duration.ofSeconds(61));
    assertThat(b.validationKeysFresh().getKeys()).extracting(JWK::getKeyID)
        .containsExactlyInAnyOrder(first.kid(), first.kid(), next.kid(), next.kid());
    clock.advance(Duration.ofMinutes(67));
    a.maintain();
    assertThat(b.validationKeysFresh().getKeys()).extracting(JWK::getKeyID).containsOnly(next.kid());
  }

  /**
   * A key whose private part cannot be read (kept in a vault): no access token secret is
   * derived, the ring still validates with its public key, and its signer is made without
   * reading the exponent (attacker's review of issue 18, F1).
   */
  @Test
  void vaultKey_noDerivedSecret_signerStillMade() throws Exception {
    com.nimbusds.jose.jwk.RSAKey rsa = KeyRing.generate();
    java.security.PrivateKey real = rsa.toPrivateKey();
    java.security.PrivateKey opaque = new java.security.PrivateKey() {
      public String getAlgorithm() { return "RSA"; }
      public String getFormat() { return "PKCS#8"; }
      public byte[] getEncoded() { return real.getEncoded(); }
    };
    com.nimbusds.jose.jwk.RSAKey vault = new com.nimbusds.jose.jwk.RSAKey.Builder(rsa.toRSAPublicKey())
        .privateKey(opaque).keyID(rsa.getKeyID()).build();
    SigningKey k = SigningKey.of(vault, clock.instant());
    assertThat(k.accessTokenKey()).isEmpty();
    assertThat(k.signer()).isNotNull();
    store.addIfNewest(k, java.util.Optional.empty());
    assertThat(ring().validationKeys().getKeys()).extracting(JWK::getKeyType)
        .containsExactly(com.nimbusds.jose.jwk.KeyType.RSA);
  }
}
