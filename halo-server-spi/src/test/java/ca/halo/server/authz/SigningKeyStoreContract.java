package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What every {@link SigningKeyStore} must do: keep keys with their private part, newest first,
 * and add a key only when the newest is the one the caller saw (so several nodes rotating at once
 * add one key). A shared store extends this class; {@link #newStores()} gives two views of one
 * store when it can.
 */
public abstract class SigningKeyStoreContract {
  protected static final Instant T0 = Instant.parse("2026-01-01T08:00:00Z");

  protected abstract SigningKeyStore newStore();

  protected SigningKeyStore[] newStores() {
    SigningKeyStore s = newStore();
    return new SigningKeyStore[] {s, s};
  }

  @Test
  void addIfNewest_keepsPrivateKeysNewestFirst() throws Exception {
    SigningKeyStore s = newStore();
    assertThat(s.keys()).isEmpty();
    SigningKey a = SigningKey.of(KeyRing.generate(), T0);
    SigningKey b = SigningKey.of(KeyRing.generate(), T0.plusSeconds(60));
    assertThat(s.addIfNewest(a, Optional.empty())).isTrue();
    assertThat(s.addIfNewest(b, Optional.of(a.kid()))).isTrue();
    List<SigningKey> keys = s.keys();
    assertThat(keys).containsExactly(b, a);
    assertThat(keys.get(0).key().isPrivate()).isTrue();
    assertThat(keys.get(0).key().toRSAPrivateKey()).isEqualTo(b.key().toRSAPrivateKey());
    assertThat(s.newest()).hasValue(b);
    s.remove(a.kid());
    assertThat(s.keys()).containsExactly(b);
  }

  @Test
  void addIfNewest_staleExpectation_refused() {
    SigningKeyStore s = newStore();
    SigningKey a = SigningKey.of(KeyRing.generate(), T0);
    s.addIfNewest(a, Optional.empty());
    assertThat(s.addIfNewest(SigningKey.of(KeyRing.generate(), T0.plusSeconds(1)), Optional.empty()))
        .isFalse();
    assertThat(s.addIfNewest(SigningKey.of(KeyRing.generate(), T0.plusSeconds(1)), Optional.of("other")))
        .isFalse();
    assertThat(s.keys()).containsExactly(a);
  }

  @Test
  void addIfNewest_twoNodesRotatingAtOnce_addOneKey() throws Exception {
    SigningKeyStore[] nodes = newStores();
    SigningKey a = SigningKey.of(KeyRing.generate(), T0);
    nodes[0].addIfNewest(a, Optional.empty());
    List<SigningKey> candidates = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      candidates.add(SigningKey.of(KeyRing.generate(), T0.plusSeconds(60)));
    }
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Boolean>> fs = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        SigningKey k = candidates.get(i);
        SigningKeyStore node = nodes[i % 2];
        fs.add(pool.submit(() -> {
          go.await();
          return node.addIfNewest(k, Optional.of(a.kid()));
        }));
      }
      go.countDown();
      int added = 0;
      for (Future<Boolean> f : fs) {
        added += f.get(30, TimeUnit.SECONDS) ? 1 : 0;
      }
      assertThat(added).isEqualTo(1);
      assertThat(nodes[1].keys()).hasSize(2);
    } finally {
      pool.shutdownNow();
    }
  }
}
