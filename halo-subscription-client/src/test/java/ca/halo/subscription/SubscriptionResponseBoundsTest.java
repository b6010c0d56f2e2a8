package ca.halo.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ca.halo.core.HaloTransportException;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.testkit.HostileHttpServer;
import ca.halo.core.testkit.HostileHttpServer.Mode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bodies too large to hold, both ways: a hostile SoFA answering {@code $events} with 1 GiB or an
 * endless body ({@link SubscriptionClient} stops at the HaloHttp cap with
 * {@link HaloTransportException}), and a hostile poster sending {@link RestHookReceiver} an
 * endless chunked notification (answered 400 after its 16 MiB read limit, connection closed).
 */
class SubscriptionResponseBoundsTest {
  private static final long SLACK = 16L << 20;
  private static final long SERVER_CAP = 512L << 20;
  private static final Duration BOUND = Duration.ofSeconds(30);

  @ParameterizedTest
  @EnumSource(Mode.class)
  void events_hostileAnswer_transportErrorNearTheCap(Mode mode) throws Exception {
    long cap = 4L << 20;
    try (HostileHttpServer s = new HostileHttpServer(mode,
            "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[",
            "{\"fullUrl\":\"urn:x\"},", SERVER_CAP);
        HaloHttp http = HaloHttp.builder().maxResponseBytes(cap).build();
        SubscriptionClient client = SubscriptionClient.builder().http(http)
            .fhirBase(s.url("/fhir"))
            .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build()) {
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(
              () -> client.events(EventsRequest.builder("abc").since(1).until(2).build()))
          .isInstanceOf(HaloTransportException.class));
      assertThat(s.bytesWritten()).isLessThan(cap + SLACK);
    }
  }

  @Test
  void events_gibibyteAnswerWithDefaultCap_refusedWithoutReading() throws Exception {
    try (HostileHttpServer s = new HostileHttpServer(Mode.HUGE_CONTENT_LENGTH,
            "{\"resourceType\":\"Bundle\",\"entry\":[", "{},", SERVER_CAP);
        SubscriptionClient client = SubscriptionClient.builder().fhirBase(s.url("/fhir"))
            .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build()) {
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> client.status("abc"))
          .isInstanceOf(HaloTransportException.class));
      assertThat(s.bytesWritten()).isLessThan(HaloHttp.DEFAULT_MAX_RESPONSE_BYTES);
    }
  }

  @Test
  void restHookReceiver_endlessChunkedPost_400AndConnectionDropped() throws Exception {
    try (SubscriptionClient recovery = SubscriptionClient.builder()
            .fhirBase(URI.create("http://127.0.0.1:1/fhir"))
            .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build();
        RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook",
            RestHookHandler.builder(NotificationConsumer.builder(recovery, (id, e) -> { })
                .build()).build())) {
      AtomicLong sent = new AtomicLong();
      String answer = assertTimeoutPreemptively(BOUND, () -> {
        try (Socket socket = new Socket(r.url().getHost(), r.url().getPort())) {
          socket.setSoTimeout(20_000);
          OutputStream out = socket.getOutputStream();
          InputStream in = socket.getInputStream();
          out.write(("POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              + "Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          byte[] chunk = ("10000\r\n" + "[".repeat(0x10000) + "\r\n")
              .getBytes(StandardCharsets.US_ASCII);
          try {
            while (sent.get() < SERVER_CAP) {
              out.write(chunk);
              sent.addAndGet(0x10000);
            }
          } catch (java.io.IOException e) {
            // the receiver stopped reading and closed: what a bounded receiver does
          }
          byte[] head = in.readNBytes(12);
          return new String(head, StandardCharsets.US_ASCII);
        }
      });
      assertThat(answer).isEqualTo("HTTP/1.1 400");
      assertThat(sent.get()).isLessThan((16L << 20) + SLACK);
    }
  }

  @Test
  void restHookReceiver_postWithoutTheChannelHeader_401BeforeTheBodyIsRead() throws Exception {
    try (SubscriptionClient recovery = SubscriptionClient.builder()
            .fhirBase(URI.create("http://127.0.0.1:1/fhir"))
            .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build();
        RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook",
            RestHookHandler.builder(NotificationConsumer.builder(recovery, (id, e) -> { }).build())
                .requireHeader("Authorization", "Bearer hook-secret").build())) {
      for (String auth : new String[] {null, "Bearer wrong"}) {
        String answer = assertTimeoutPreemptively(BOUND, () -> {
          try (Socket socket = new Socket(r.url().getHost(), r.url().getPort())) {
            socket.setSoTimeout(5_000);
            // 256 MiB announced, not a byte sent: only an answer that does not wait for it comes
            socket.getOutputStream().write(("POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/fhir+json\r\nContent-Length: 268435456\r\n"
                + (auth == null ? "" : "Authorization: " + auth + "\r\n") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
          }
        });
        assertThat(answer).isEqualTo("HTTP/1.1 401");
      }
    }
  }
}
