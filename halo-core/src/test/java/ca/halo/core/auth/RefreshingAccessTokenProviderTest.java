package ca.halo.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloResponseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RefreshingAccessTokenProviderTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void token_freshToken_noRefresh() {
    AtomicInteger calls = new AtomicInteger();
    RefreshingAccessTokenProvider p = RefreshingAccessTokenProvider
        .builder(c -> AccessToken.of("t" + calls.incrementAndGet(), T0.plusSeconds(3600)))
        .clock(Clock.fixed(T0, ZoneOffset.UTC))
        .build();
    assertThat(p.token().value()).isEqualTo("t1");
    assertThat(p.token().value()).isEqualTo("t1");
    assertThat(calls).hasValue(1);
  }

  @Test
  void token_withinRefreshAhead_refreshes() {
    AtomicInteger calls = new AtomicInteger();
    RefreshingAccessTokenProvider p = RefreshingAccessTokenProvider
        .builder(c -> AccessToken.of("t" + calls.incrementAndGet(), T0.plusSeconds(3600)))
        .initial(AccessToken.of("old", T0.plusSeconds(30)))
        .refreshAhead(Duration.ofSeconds(60))
        .clock(Clock.fixed(T0, ZoneOffset.UTC))
        .build();
    assertThat(p.token().value()).isEqualTo("t1");
    assertThat(calls).hasValue(1);
  }

  @Test
  void token_manyThreadsOnStaleToken_singleFlight() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch inSource = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    RefreshingAccessTokenProvider p = RefreshingAccessTokenProvider
        .builder(c -> {
          calls.incrementAndGet();
          inSource.countDown();
          try {
            release.await(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return AccessToken.of("fresh", T0.plusSeconds(3600));
        })
        .clock(Clock.fixed(T0, ZoneOffset.UTC))
        .build();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<AccessToken>> results = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        results.add(pool.submit(p::token));
      }
      assertThat(inSource.await(5, TimeUnit.SECONDS)).isTrue();
      release.countDown();
      for (Future<AccessToken> f : results) {
        assertThat(f.get(5, TimeUnit.SECONDS).value()).isEqualTo("fresh");
      }
      assertThat(calls).hasValue(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void refreshAfterRejection_sameTokenTwice_refreshesOnce() {
    AtomicInteger calls = new AtomicInteger();
    RefreshingAccessTokenProvider p = RefreshingAccessTokenProvider
        .builder(c -> AccessToken.of("t" + calls.incrementAndGet(), T0.plusSeconds(3600)))
        .initial(AccessToken.of("old", T0.plusSeconds(3600)))
        .clock(Clock.fixed(T0, ZoneOffset.UTC))
        .build();
    AccessToken old = p.token();
    assertThat(p.refreshAfterRejection(old).value()).isEqualTo("t1");
    assertThat(p.refreshAfterRejection(old).value()).isEqualTo("t1");
    assertThat(calls).hasValue(1);
  }

  @Test
  void token_sourceFails_throwsAndKeepsOldToken() {
    AccessToken old = AccessToken.of("old", T0.plusSeconds(10));
    RefreshingAccessTokenProvider p = RefreshingAccessTokenProvider
        .builder(c -> {
          throw HaloResponseException.oauth("refresh", 400, "invalid_grant", null);
        })
        .initial(old)
        .clock(Clock.fixed(T0, ZoneOffset.UTC))
        .build();
    assertThatThrownBy(p::token).isInstanceOf(HaloResponseException.class);
    assertThat(p.refreshAfterRejection(AccessToken.of("other", T0))).isEqualTo(old);
  }

  @Test
  void accessToken_toString_redacts() {
    assertThat(AccessToken.of("s3cr3t", T0).toString()).doesNotContain("s3cr3t");
  }
}
