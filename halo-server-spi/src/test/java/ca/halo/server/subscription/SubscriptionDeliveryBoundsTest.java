package ca.halo.server.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.subscription.NotificationEvent;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.TestSofa;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Items 3 and 11 of the hardening issue: one slow receiver delays only itself, every delivery
 * is bounded in time, and subscriptions and websockets are bounded in number and size.
 */
class SubscriptionDeliveryBoundsTest {
  private TestSofa sofa;
  private Browser browser;
  private String emr;
  private String launch;

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.maxWebSockets(3).webSocketBindTimeout(Duration.ofSeconds(1)));
    browser = new Browser();
    emr = sofa.emrToken(browser, "dr.tremblay", "password");
    launch = sofa.setContext(emr, "growth-chart");
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  /** Accepts connections and answers one byte every five seconds, forever. */
  static final class Tarpit implements AutoCloseable {
    final ServerSocket server;
    final List<Socket> open = new CopyOnWriteArrayList<>();
    final Thread acceptor;

    Tarpit() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            Socket s = server.accept();
            open.add(s);
            Thread t = new Thread(() -> trickle(s));
            t.setDaemon(true);
            t.start();
          } catch (IOException e) {
            return;
          }
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
    }

    private static void trickle(Socket s) {
      try (OutputStream out = s.getOutputStream()) {
        for (String part : "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".split("")) {
          out.write(part.getBytes());
          out.flush();
          TimeUnit.SECONDS.sleep(5);
        }
      } catch (IOException | InterruptedException e) {
        // the caller gave up
      }
    }

    URI url() {
      return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/hook");
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket s : open) {
        s.close();
      }
    }
  }

  @Test
  void fourTarpitsAndOneGoodReceiver_goodGetsEveryEventWithinOneSecond_item3() throws Exception {
    List<Tarpit> tarpits = new ArrayList<>();
    try (HookReceiver good = new HookReceiver()) {
      for (int i = 0; i < 4; i++) {
        Tarpit t = new Tarpit();
        tarpits.add(t);
        Subs.created(sofa, emr, Subs.timeout(Subs.restHook(t.url(), Subs.launchFilter(launch),
            "id-only"), 30));
      }
      Subs.created(sofa, emr, Subs.restHook(good.url(), Subs.launchFilter(launch), "id-only"));
      assertThat(good.await(x -> !x.received().isEmpty(), Duration.ofSeconds(2)))
          .as("the good receiver's handshake waits for no tarpit").isTrue();
      String app = sofa.appToken(browser, launch);
      String patient = sofa.server.authorizationServer().tokenValidator().validate(app).orElseThrow()
          .patient().orElseThrow();
      Map<String, Long> writtenAt = new ConcurrentHashMap<>();
      for (int i = 0; i < 5; i++) {
        String id = sofa.fhir(app).create().resource(TestSofa.weight(patient, 18 + i)).execute()
            .getId().toUnqualifiedVersionless().getValue();
        writtenAt.put(id, System.nanoTime());
        int n = i + 1;
        assertThat(good.await(x -> x.events().size() >= n, Duration.ofSeconds(1)))
            .as("event %d reached the good receiver within 1 s", n).isTrue();
      }
      for (HookReceiver.Received r : good.received()) {
        if (r.notification() != null) {
          for (NotificationEvent e : r.notification().events()) {
            long lag = r.arrivedNanos() - writtenAt.get(e.focus().orElseThrow());
            assertThat(Duration.ofNanos(lag)).isLessThan(Duration.ofSeconds(1));
          }
        }
      }
    } finally {
      for (Tarpit t : tarpits) {
        t.close();
      }
    }
  }

  /**
   * An event-notification counts events up to its own last one: events numbered while it waited
   * its turn arrive in their own notifications, and a count beyond them would send every
   * consumer to $events for them (issue 18). Each notification here carries one event (max-count
   * 1) while the receiver holds the first delivery and two more writes are numbered.
   */
  @Test
  void eventNotification_countsUpToItsOwnLastEvent_notEventsStillOnTheirWay() throws Exception {
    try (HookReceiver hook = new HookReceiver()) {
      String id = Subs.created(sofa, emr, Subs.maxCount(Subs.restHook(hook.url(), Subs.launchFilter(launch),
          "id-only"), 1));
      assertThat(hook.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue(); // handshake
      String app = sofa.appToken(browser, launch);
      String patient = sofa.server.authorizationServer().tokenValidator().validate(app).orElseThrow()
          .patient().orElseThrow();
      hook.hold();
      sofa.fhir(app).create().resource(TestSofa.weight(patient, 18.0)).execute();
      assertThat(hook.await(x -> x.arrivals().size() >= 2, Duration.ofSeconds(10))).isTrue();
      sofa.fhir(app).create().resource(TestSofa.weight(patient, 18.1)).execute();
      sofa.fhir(app).create().resource(TestSofa.weight(patient, 18.2)).execute();
      hook.release();
      assertThat(hook.await(x -> x.events().size() >= 3, Duration.ofSeconds(20))).isTrue();
      List<HookReceiver.Received> events = hook.received().stream().filter(r -> r.notification() != null
          && !r.notification().events().isEmpty()).toList();
      assertThat(events).hasSizeGreaterThanOrEqualTo(3);
      for (HookReceiver.Received r : events) {
        long last = r.notification().events().stream().mapToLong(NotificationEvent::number).max().getAsLong();
        assertThat(r.notification().eventsSinceSubscriptionStart()).as(id).isEqualTo(last);
      }
    }
  }

  @Test
  void backportTimeout_zeroOrHuge_refused400NotServerError_item3() throws Exception {
    try (HookReceiver r = new HookReceiver()) {
      for (long t : new long[] {0, 31, Integer.MAX_VALUE}) {
        HttpResponse<String> refused = Subs.create(sofa, emr,
            Subs.timeout(Subs.restHook(r.url(), Subs.launchFilter(launch), null), t));
        assertThat(refused.statusCode()).as("timeout %d: %s", t, refused.body()).isEqualTo(400);
        assertThat(refused.body()).contains("backport-timeout");
      }
      assertThat(sofa.server.subscriptions().size()).isZero();
    }
  }

  @Test
  void subscriptions_perCallerBound_429AndNothingStored_item11() throws Exception {
    try (HookReceiver r = new HookReceiver()) {
      for (int i = 0; i < 20; i++) {
        Subs.created(sofa, emr, Subs.websocket(Subs.launchFilter(launch)));
      }
      HttpResponse<String> refused = Subs.create(sofa, emr, Subs.websocket(Subs.launchFilter(launch)));
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
      assertThat(refused.body()).contains("20");
      assertThat(sofa.server.subscriptions().size()).isEqualTo(20);
      // another clinician is not held back by the first one's bound
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      String royLaunch = sofa.setContext(roy, "growth-chart");
      Subs.created(sofa, roy, Subs.restHook(r.url(), Subs.launchFilter(royLaunch), null));
    }
  }

  /** A JDK websocket client that records how its socket closed. */
  static final class Ws implements WebSocket.Listener {
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    final List<String> texts = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      texts.add(data.toString());
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      closed.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      closed.complete(-1);
    }
  }

  private URI wsUrl() {
    return URI.create(sofa.server.baseUrl().toString().replaceFirst("^http", "ws") + "/ws/subscriptions");
  }

  @Test
  void websocket_unboundSocket_closedAfterBindTimeout_item11() throws Exception {
    Ws l = new Ws();
    HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(wsUrl(), l).get(5, TimeUnit.SECONDS);
    assertThat(l.closed.get(5, TimeUnit.SECONDS)).as("closed by the server").isNotNull();
  }

  @Test
  void websocket_oversizedMessage_closedWithoutBuffering_item11() throws Exception {
    Ws l = new Ws();
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(wsUrl(), l)
        .get(5, TimeUnit.SECONDS);
    ws.sendText("bind-with-token " + "x".repeat(64 * 1024), true);
    assertThat(l.closed.get(5, TimeUnit.SECONDS)).isIn(1009, 1006, -1);
  }

  @Test
  void websocket_overMaxConnections_upgradeRefused_item11() throws Exception {
    List<WebSocket> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      open.add(HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(wsUrl(), new Ws())
          .get(5, TimeUnit.SECONDS));
    }
    CompletableFuture<WebSocket> fourth = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(wsUrl(), new Ws());
    assertThat(fourth).failsWithin(Duration.ofSeconds(5));
    open.forEach(w -> w.abort());
  }
}
