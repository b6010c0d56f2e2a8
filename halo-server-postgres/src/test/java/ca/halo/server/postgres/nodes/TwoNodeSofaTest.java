package ca.halo.server.postgres.nodes;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.TestSofa;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import ca.halo.server.subscription.Subs;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import ca.uhn.fhir.rest.api.MethodOutcome;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two SoFA nodes (real Jetty, HAPI and OAuth over loopback) on one PostgreSQL database, behind a
 * load balancer that sends each request to the other node in turn: the whole HALO flow, races of
 * one code and one refresh token on both nodes, a revocation seen by the other node at once, and
 * a websocket on one node receiving what was written through the other.
 */
class TwoNodeSofaTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static PostgresDatabase dbA;
  private static PostgresDatabase dbB;
  private static PostgresStores storesA;
  private static PostgresStores storesB;
  private static RoundRobinProxy lb;
  private static TestSofa a;
  private static TestSofa b;
  private static URI nodeA;
  private static URI nodeB;

  @BeforeAll
  static void start() throws Exception {
    String url = EmbeddedPostgresSupport.newDatabase();
    dbA = PostgresDatabase.builder(url).maxPoolSize(8).build();
    dbB = PostgresDatabase.builder(url).maxPoolSize(8).migrate(false).build();
    storesA = PostgresStores.builder(dbA).fhirContext(TestSofa.CTX).build();
    storesB = PostgresStores.builder(dbB).fhirContext(TestSofa.CTX).build();
    int portA = freePort();
    int portB = freePort();
    nodeA = URI.create("http://127.0.0.1:" + portA);
    nodeB = URI.create("http://127.0.0.1:" + portB);
    lb = new RoundRobinProxy(List.of(nodeA, nodeB));
    a = new TestSofa(s -> storesA.applyTo(s).port(portA).publicBaseUrl(lb.url()));
    b = new TestSofa(s -> storesB.applyTo(s).port(portB).publicBaseUrl(lb.url()));
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, lb, storesA, storesB, dbA, dbB}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing anyway
      }
    }
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private long count(String sql) {
    return dbA.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  @Test
  void wholeFlow_everyRequestOnTheOtherNode_writeBackDeliveredExactlyOnce() throws Exception {
    long servedA = lb.served(nodeA);
    long servedB = lb.served(nodeB);
    Browser clinician = new Browser();
    // every helper of TestSofa speaks to the public address, the load balancer
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    try (HookReceiver hook = new HookReceiver()) {
      String sub = Subs.created(a, emr, Subs.restHook(hook.url(), Subs.launchFilter(launch), "id-only"));
      assertThat(hook.await(r -> !r.received().isEmpty(), Duration.ofSeconds(15)))
          .as("handshake").isTrue();
      String app = a.appToken(clinician, launch); // SSO: the sign-in made through the other node holds
      Bundle patients = a.fhir(app).search().forResource(Patient.class).returnBundle(Bundle.class).execute();
      assertThat(patients.getEntry()).hasSize(1);
      String patientId = patients.getEntry().get(0).getResource().getIdElement().getIdPart();
      MethodOutcome written = a.fhir(app).create().resource(TestSofa.weight(patientId, 21.5)).execute();
      String focus = "Observation/" + written.getId().getIdPart();
      assertThat(a.fhir(app).read().resource(Observation.class).withId(written.getId().getIdPart())
          .execute().getValueQuantity().getValue().doubleValue()).isEqualTo(21.5);

      assertThat(hook.await(r -> !r.events().isEmpty(), Duration.ofSeconds(15))).isTrue();
      Thread.sleep(2_000); // a second delivery by the other node would arrive by now
      List<NotificationEvent> events = hook.events();
      assertThat(events).hasSize(1);
      assertThat(events.get(0).number()).isEqualTo(1);
      assertThat(events.get(0).focus()).hasValue(focus);
      long eventNotifications = hook.received().stream().filter(r -> r.notification() != null
          && r.notification().type().equals(NotificationType.EVENT_NOTIFICATION)).count();
      assertThat(eventNotifications).as("delivered by one node, once").isEqualTo(1);

      a.clearContext(emr, launch);
      assertThat(count("SELECT count(*) FROM halo_launch_context")).isZero();
      assertThat(count("SELECT count(*) FROM fhir_resource")).isZero();
      assertThat(Subs.get(a, "/Subscription/" + sub, emr).statusCode()).isEqualTo(200);
    }
    assertThat(lb.served(nodeA) - servedA).as("node A's share").isGreaterThan(4);
    assertThat(lb.served(nodeB) - servedB).as("node B's share").isGreaterThan(4);
  }

  /** Authorizes the app (offline access) through the load balancer; returns the code and verifier. */
  private static Browser.Authz authorizeApp(Browser browser, String launch) throws Exception {
    return browser.authorize(a.authorize(), Map.of("client_id", "app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", a.fhirBase().toString(),
        "launch", launch, "scope", "launch patient/*.rs offline_access"), "dr.tremblay", "password");
  }

  private static HttpResponse<String> token(URI node, Map<String, String> form) throws Exception {
    return new Browser().postForm(URI.create(node + "/auth/token"), form, null);
  }

  private static List<HttpResponse<String>> onBothAtOnce(Callable<HttpResponse<String>> onA,
      Callable<HttpResponse<String>> onB) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      Future<HttpResponse<String>> fa = pool.submit(() -> {
        go.await();
        return onA.call();
      });
      Future<HttpResponse<String>> fb = pool.submit(() -> {
        go.await();
        return onB.call();
      });
      go.countDown();
      return List.of(fa.get(30, TimeUnit.SECONDS), fb.get(30, TimeUnit.SECONDS));
    } finally {
      pool.shutdownNow();
    }
  }

  private static int readStatus(URI node, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node + "/fhir/Patient"))
        .header("Authorization", "Bearer " + token).GET().build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void oneCodeOnBothNodesAtOnce_exactlyOneWins_andTheReplayRevokesWhatItIssued() throws Exception {
    Browser clinician = new Browser();
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    for (int round = 0; round < 5; round++) {
      Browser.Authz authz = authorizeApp(clinician, launch);
      Map<String, String> form = Map.of("grant_type", "authorization_code",
          "code", authz.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
          "code_verifier", authz.verifier, "client_id", "app");
      List<HttpResponse<String>> r = onBothAtOnce(() -> token(nodeA, form), () -> token(nodeB, form));
      List<HttpResponse<String>> won = r.stream().filter(x -> x.statusCode() == 200).toList();
      assertThat(won).as("round " + round).hasSize(1);
      HttpResponse<String> lost = r.stream().filter(x -> x.statusCode() != 200).findFirst().orElseThrow();
      assertThat(lost.statusCode()).isEqualTo(400);
      assertThat(lost.body()).contains("invalid_grant");
      String issued = TestSofa.json(won.get(0).body()).get("access_token").asText();
      // the loser was a replay: what the winner got is revoked, on either node
      assertThat(readStatus(nodeA, issued)).isEqualTo(401);
      assertThat(readStatus(nodeB, issued)).isEqualTo(401);
    }
    a.clearContext(emr, launch);
  }

  @Test
  void oneRefreshTokenOnBothNodesAtOnce_exactlyOneRotation() throws Exception {
    Browser clinician = new Browser();
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    for (int round = 0; round < 5; round++) {
      Browser.Authz authz = authorizeApp(clinician, launch);
      JsonNode t = TestSofa.json(token(nodeA, Map.of("grant_type", "authorization_code",
          "code", authz.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
          "code_verifier", authz.verifier, "client_id", "app")).body());
      Map<String, String> refresh = Map.of("grant_type", "refresh_token",
          "refresh_token", t.get("refresh_token").asText(), "client_id", "app");
      List<HttpResponse<String>> r = onBothAtOnce(() -> token(nodeA, refresh), () -> token(nodeB, refresh));
      assertThat(r.stream().filter(x -> x.statusCode() == 200).count()).as("round " + round).isEqualTo(1);
      assertThat(r.stream().filter(x -> x.statusCode() == 400).count()).isEqualTo(1);
    }
    a.clearContext(emr, launch);
  }

  @Test
  void revokedOnA_refusedOnBAtOnce() throws Exception {
    Browser clinician = new Browser();
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String other = a.emrToken(clinician, "dr.tremblay", "password");
    assertThat(readStatus(nodeB, other)).isEqualTo(200);
    HttpResponse<String> revoked = new Browser().postForm(URI.create(nodeA + "/auth/revoke"),
        Map.of("token", other), TestSofa.basic("emr", TestSofa.EMR_SECRET));
    assertThat(revoked.statusCode()).isEqualTo(200);
    assertThat(readStatus(nodeB, other)).as("no cache between A's revocation and B").isEqualTo(401);
    assertThat(readStatus(nodeB, emr)).isEqualTo(200);
  }

  @Test
  void websocketOnB_receivesWhatWasWrittenThroughA() throws Exception {
    Browser clinician = new Browser();
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    String sub = Subs.created(a, emr, Subs.websocket(Subs.launchFilter(launch)));
    HttpResponse<String> binding = HTTP.send(HttpRequest.newBuilder(
            URI.create(nodeA + "/fhir/Subscription/" + sub + "/$get-ws-binding-token"))
        .header("Authorization", "Bearer " + emr).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(binding.statusCode()).as(binding.body()).isEqualTo(200);
    String bindToken = tokenOf(binding.body());
    BlockingQueue<SubscriptionNotification> received = new LinkedBlockingQueue<>();
    WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(
        URI.create("ws://127.0.0.1:" + nodeB.getPort() + "/ws/subscriptions"), new Collect(received))
        .get(10, TimeUnit.SECONDS);
    try {
      ws.sendText("bind-with-token " + bindToken, true);
      SubscriptionNotification handshake = received.poll(10, TimeUnit.SECONDS);
      assertThat(handshake).isNotNull();
      assertThat(handshake.type()).isEqualTo(NotificationType.HANDSHAKE);

      String app = a.appToken(clinician, launch);
      String patientId = a.fhir(app).search().forResource(Patient.class).returnBundle(Bundle.class)
          .execute().getEntry().get(0).getResource().getIdElement().getIdPart();
      long written = System.nanoTime();
      IdType id = (IdType) fhirOn(nodeA, app).create().resource(TestSofa.weight(patientId, 22)).execute().getId();
      SubscriptionNotification event = null;
      while (event == null || !event.type().equals(NotificationType.EVENT_NOTIFICATION)) {
        event = received.poll(10, TimeUnit.SECONDS);
        if (event == null) {
          System.out.println("[debug] " + dbA.jdbi().withHandle(h -> h.createQuery(
              "SELECT id, channel, status, last_event, last_sent, lease_owner, lease_until, lapsed, next_attempt_at, failures, error FROM halo_subscription")
              .mapToMap().list()));
        }
        assertThat(event).as("an event within 10 s").isNotNull();
      }
      long millis = (System.nanoTime() - written) / 1_000_000;
      assertThat(event.events()).extracting(NotificationEvent::focus).containsExactly(
          java.util.Optional.of("Observation/" + id.getIdPart()));
      // cross-node wake-up is a poll (500 ms by default): well within a second and a half
      assertThat(millis).isLessThan(1_500);
      System.out.println("[two-node] websocket on B got A's write after " + millis + " ms");
    } finally {
      ws.abort();
      a.clearContext(emr, launch);
    }
  }

  private static ca.uhn.fhir.rest.client.api.IGenericClient fhirOn(URI node, String token) {
    ca.uhn.fhir.rest.client.api.IGenericClient c = TestSofa.CTX.newRestfulGenericClient(node + "/fhir");
    c.registerInterceptor(new ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor(token));
    return c;
  }

  private static String tokenOf(String parametersJson) throws Exception {
    for (JsonNode p : TestSofa.json(parametersJson).get("parameter")) {
      if (p.get("name").asText().equals("token")) {
        return p.get("valueString").asText();
      }
    }
    throw new AssertionError("no token in " + parametersJson);
  }

  /** Collects websocket notifications (text frames may come in parts). */
  private static final class Collect implements WebSocket.Listener {
    private final BlockingQueue<SubscriptionNotification> out;
    private final StringBuilder part = new StringBuilder();

    Collect(BlockingQueue<SubscriptionNotification> out) {
      this.out = out;
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      part.append(data);
      if (last) {
        String text = part.toString();
        part.setLength(0);
        try {
          out.add(SubscriptionNotification.parse((Bundle) TestSofa.CTX.newJsonParser().parseResource(text)));
        } catch (RuntimeException e) {
          // not a notification (e.g. a ping text): ignored
        }
      }
      ws.request(1);
      return null;
    }
  }
}
