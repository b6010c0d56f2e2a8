package ca.halo.server.authz;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authorization server's signing keys over a {@link SigningKeyStore}: which key signs now,
 * which are published, and rotation. A new key is added {@code publishAhead} before it starts
 * signing, longer than any node caches the key list, so every node publishes and accepts it
 * before the first token it signs reaches them; a superseded key stays published for
 * {@code keepAfterSuperseded} (the longest token lifetime), so tokens it signed stay valid until
 * they expire, and is then deleted. Thread-safe.
 */
final class KeyRing {
  private static final Logger LOG = LoggerFactory.getLogger(KeyRing.class);

  private final SigningKeyStore store;
  private final Clock clock;
  private final Duration rotateEvery;
  private final Duration publishAhead;
  private final Duration keepAfterSuperseded;
  private final Duration refresh;
  private List<SigningKey> cached = List.of();
  private Instant fetchedAt = Instant.MIN;
  /** What {@link #publish} gave for {@link #cached}, and until when (retirement is by time). */
  private Published published;

  /** The keys of one list, made once: every FHIR request's token is checked against them. */
  private record Published(List<SigningKey> from, Instant until, JWKSet publicKeys, JWKSet validationKeys) {}

  /** @param rotateEvery null: never rotate */
  KeyRing(SigningKeyStore store, Clock clock, Duration rotateEvery, Duration publishAhead,
      Duration keepAfterSuperseded, Duration refresh) {
    this.store = store;
    this.clock = clock;
    this.rotateEvery = rotateEvery;
    this.publishAhead = publishAhead;
    this.keepAfterSuperseded = keepAfterSuperseded;
    this.refresh = refresh;
  }

  private synchronized List<SigningKey> keys(boolean fresh) {
    Instant now = clock.instant();
    if (fresh || cached.isEmpty() || !now.isBefore(fetchedAt.plus(refresh))) {
      cached = store.keys();
      fetchedAt = now;
    }
    return cached;
  }

  /** The key that signs now; makes the first key, and the next when rotation is due. */
  SigningKey signer() {
    Instant now = clock.instant();
    List<SigningKey> keys = keys(false);
    if (keys.isEmpty()) {
      store.addIfNewest(SigningKey.of(generate(), now), Optional.empty());
      keys = keys(true);
    } else if (rotationDue(keys.get(0), now)) {
      rotate(keys.get(0), now);
      keys = keys(true);
    }
    for (SigningKey k : keys) {
      if (!k.activeFrom().isAfter(now)) {
        return k;
      }
    }
    return keys.get(keys.size() - 1); // only keys not yet active: the clock went back; sign anyway
  }

  private boolean rotationDue(SigningKey newest, Instant now) {
    return rotateEvery != null && !newest.activeFrom().plus(rotateEvery).isAfter(now.plus(publishAhead));
  }

  private void rotate(SigningKey newest, Instant now) {
    SigningKey next = SigningKey.of(generate(), now.plus(publishAhead));
    if (store.addIfNewest(next, Optional.of(newest.kid()))) {
      LOG.debug("signing key {} added; it signs from {}", next.kid(), next.activeFrom());
    }
  }

  /** The public keys a validator accepts now: the signing one, the next one, and the superseded ones still in use. */
  JWKSet publicKeys() {
    return publish(keys(false)).publicKeys();
  }

  /**
   * What this server's own access tokens are checked against: the keys of {@link #publicKeys()}
   * and each one's HS256 access token key ({@link SigningKey#accessTokenKey()}). Secret: never
   * published.
   */
  JWKSet validationKeys() {
    return publish(keys(false)).validationKeys();
  }

  /** As {@link #validationKeys()}, re-read from the store first, as {@link #publicKeysFresh()}. */
  JWKSet validationKeysFresh() {
    return publish(keys(staleForUnknownKid())).validationKeys();
  }

  /**
   * As {@link #publicKeys()}, re-read from the store first (a token named a key not seen yet),
   * at most once a second: invented key ids cannot make every request a store read.
   */
  JWKSet publicKeysFresh() {
    return publish(keys(staleForUnknownKid())).publicKeys();
  }

  private synchronized boolean staleForUnknownKid() {
    return !clock.instant().isBefore(fetchedAt.plusSeconds(1));
  }

  private synchronized Published publish(List<SigningKey> keys) {
    Instant now = clock.instant();
    Published p = published;
    if (p != null && p.from() == keys && now.isBefore(p.until())) {
      return p;
    }
    List<JWK> out = new ArrayList<>();
    List<JWK> validation = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      if (i == 0 || !retired(keys, i, now)) {
        JWK pub = keys.get(i).key().toPublicJWK();
        out.add(pub);
        validation.add(pub);
        keys.get(i).accessTokenKey().ifPresent(validation::add);
      }
    }
    // a key retires by time: look again within a second
    published = new Published(keys, now.plusSeconds(1), new JWKSet(out), new JWKSet(validation));
    return published;
  }

  private boolean retired(List<SigningKey> keys, int i, Instant now) {
    // superseded when the next newer key that is already active began signing
    Instant supersededAt = null;
    for (int j = i - 1; j >= 0; j--) {
      if (!keys.get(j).activeFrom().isAfter(now)) {
        supersededAt = keys.get(j).activeFrom();
        break;
      }
    }
    return supersededAt != null && supersededAt.plus(keepAfterSuperseded).isBefore(now);
  }

  /**
   * Makes the first key when there is none, rotates when due and deletes retired keys; runs at
   * start and on a schedule on every node.
   */
  void maintain() {
    Instant now = clock.instant();
    List<SigningKey> keys = keys(true);
    if (keys.isEmpty()) {
      signer();
      return;
    }
    if (!keys.isEmpty() && rotationDue(keys.get(0), now)) {
      rotate(keys.get(0), now);
      keys = keys(true);
    }
    for (int i = 1; i < keys.size(); i++) {
      if (retired(keys, i, now)) {
        store.remove(keys.get(i).kid());
        LOG.debug("signing key {} retired", keys.get(i).kid());
      }
    }
  }

  static com.nimbusds.jose.jwk.RSAKey generate() {
    try {
      return new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString())
          .keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate a signing key", e);
    }
  }
}
