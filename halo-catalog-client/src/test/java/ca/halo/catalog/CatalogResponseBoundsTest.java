package ca.halo.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.testkit.HostileHttpServer;
import ca.halo.core.testkit.HostileHttpServer.Mode;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A hostile catalog answering 1 GiB, an endless chunked body or an endless close-delimited body:
 * {@link AppCatalogClient} fails with {@link HaloTransportException} near its
 * {@code maxResponseBytes} instead of reading (and caching) the whole answer.
 */
class CatalogResponseBoundsTest {
  private static final long SLACK = 16L << 20;
  private static final long SERVER_CAP = 512L << 20;
  private static final Duration BOUND = Duration.ofSeconds(20);
  private static final String UNIT = "{\"id\":\"a\",\"name\":\"A\",\"status\":\"active\"},";

  @ParameterizedTest
  @EnumSource(Mode.class)
  void list_hostileBody_transportErrorNearTheCap(Mode mode) throws Exception {
    try (HostileHttpServer s = new HostileHttpServer(mode, "{\"apps\":[", UNIT, SERVER_CAP);
        HaloHttp http = HaloHttp.defaults();
        AppCatalogClient client = AppCatalogClient.builder().http(http)
            .baseUrl(s.url("/catalog")).build()) {
      // regression: fetch() read r.body().string() whole (and kept it in the ETag cache)
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> client.list(AppQuery.all()))
          .isInstanceOf(HaloTransportException.class).hasMessageContaining("more than"));
      assertThat(s.bytesWritten())
          .isLessThan(AppCatalogClient.DEFAULT_MAX_RESPONSE_BYTES + SLACK);
    }
  }

  @Test
  void get_smallerConfiguredCap_honoured() throws Exception {
    long cap = 256 * 1024;
    try (HostileHttpServer s = new HostileHttpServer(Mode.ENDLESS_CHUNKED, "{\"id\":\"", "aaaa",
            SERVER_CAP);
        HaloHttp http = HaloHttp.defaults();
        AppCatalogClient client = AppCatalogClient.builder().http(http)
            .baseUrl(s.url("/catalog")).maxResponseBytes(cap).build()) {
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> client.get("a"))
          .isInstanceOf(HaloTransportException.class));
      assertThat(s.bytesWritten()).isLessThan(cap + SLACK);
    }
  }

  @Test
  void builder_nonPositiveMaxResponseBytes_rejected() {
    assertThatThrownBy(() -> AppCatalogClient.builder()
        .baseUrl(java.net.URI.create("http://localhost:1/c")).maxResponseBytes(0).build())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void errorStatus_hostileErrorBody_stillAResponseError() throws Exception {
    // an error answer is read only far enough for its OAuth error code
    try (HostileHttpServer s = new HostileHttpServer(500, Mode.ENDLESS_CHUNKED, "{\"error\":\"",
            "xxxxxxxx", SERVER_CAP);
        HaloHttp http = HaloHttp.defaults();
        AppCatalogClient client = AppCatalogClient.builder().http(http)
            .baseUrl(s.url("/catalog")).build()) {
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> client.list(AppQuery.all()))
          .isInstanceOfSatisfying(HaloResponseException.class,
              e -> assertThat(e.httpStatus()).isEqualTo(500)));
      assertThat(s.bytesWritten()).isLessThan(SLACK);
    }
  }
}
