package ca.halo.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.subscription.NotificationEvent;
import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.UrlType;
import org.junit.jupiter.api.Test;

/**
 * A SoFA websocket that, after the bind, sends hostile frames before a valid notification: the
 * {@link WebSocketConsumer} ignores them, stays on the same socket (a frame that threw out of
 * {@code onMessage} used to fail the socket and force a reconnect), and delivers the valid event.
 */
class WebSocketHostileFramesTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  static List<String> hostileFrames() {
    String valid = NotificationBodyProperties.notificationJson();
    return List.of(
        "", "null", "[]", "bind-ok", "{", "[".repeat(100_000),
        "{\"resourceType\":\"Patient\",\"id\":\"1\"}",
        valid.replaceFirst("\"type\":\"history\"", "\"type\":\"history\",\"total\":1E+50000000"),
        valid.replaceFirst("\"type\":\"history\"", "\"type\":\"history\",\"total\":1E+2147483647"),
        valid.replace("\"valueString\":\"1\"", "\"valueString\":\"0\""),
        valid.replace("\"valueCode\":\"event-notification\"",
            "\"_valueCode\":{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"y\"}]}"),
        valid.replace("\"valueReference\":{\"reference\":\"Patient/7\"}",
            "\"valueReference\":{\"reference\":\"/\"}"));
  }

  @Test
  void hostileFramesThenValidNotification_sameSocketEventDelivered() throws Exception {
    List<String> sentToServer = new CopyOnWriteArrayList<>();
    String valid = NotificationBodyProperties.notificationJson();
    try (MockWebServer sofa = new MockWebServer()) {
      sofa.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest r) {
          String path = r.getUrl().encodedPath();
          if (path.endsWith("$get-ws-binding-token")) {
            Parameters p = new Parameters();
            p.addParameter().setName("token").setValue(new StringType("tok-1"));
            p.addParameter().setName("websocket-url").setValue(new UrlType(
                sofa.url("/ws").toString().replaceFirst("^http", "ws")));
            return new MockResponse.Builder().code(200)
                .setHeader("Content-Type", "application/fhir+json")
                .body(CTX.newJsonParser().encodeResourceToString(p)).build();
          }
          if (path.equals("/ws")) {
            return new MockResponse.Builder().webSocketUpgrade(new WebSocketListener() {
              @Override
              public void onMessage(WebSocket ws, String text) {
                sentToServer.add(text);
                for (String frame : hostileFrames()) {
                  ws.send(frame);
                }
                ws.send(valid);
              }

              @Override
              public void onClosing(WebSocket ws, int code, String reason) {
                ws.close(1000, null);
              }
            }).build();
          }
          return new MockResponse.Builder().code(404).build();
        }
      });
      sofa.start();
      CountDownLatch delivered = new CountDownLatch(2);
      List<NotificationEvent> events = new CopyOnWriteArrayList<>();
      try (SubscriptionClient client = SubscriptionClient.builder()
              .fhirBase(URI.create(sofa.url("/fhir").toString()))
              .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build()) {
        NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> {
          events.add(e);
          delivered.countDown();
        }).build();
        try (WebSocketConsumer ws = WebSocketConsumer.builder(client, "abc", consumer).build()) {
          ws.start();
          assertThat(delivered.await(20, TimeUnit.SECONDS)).as("both events delivered").isTrue();
          assertThat(events).extracting(NotificationEvent::number).containsExactly(1L, 2L);
          assertThat(ws.connectCount()).as("no reconnect forced by a hostile frame").isEqualTo(1);
          assertThat(ws.isBound()).isTrue();
        }
      }
      assertThat(sentToServer).containsExactly("bind-with-token tok-1");
    }
  }

  @Test
  void parseFrame_eachHostileFrame_ignored() {
    for (String frame : hostileFrames()) {
      assertThat(WebSocketConsumer.parseFrame(CTX, frame)).as(frame.length() > 80
          ? frame.substring(0, 80) : frame).isEmpty();
    }
  }
}
