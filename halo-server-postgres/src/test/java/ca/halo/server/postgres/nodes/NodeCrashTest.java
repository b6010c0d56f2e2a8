package ca.halo.server.postgres.nodes;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.subscription.NotificationEvent;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.SofaFlows;
import ca.halo.server.TestSofa;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.subscription.Subs;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SoFA nodes in JVMs of their own, killed with SIGKILL (no graceful shutdown, no lease given
 * back): a subscription whose delivering node dies mid-delivery is taken over by the other within
 * the lease, and every event number arrives; both nodes killed and started again on the same
 * database lose nothing a user holds.
 */
class NodeCrashTest {
  /** The engine's default lease (10 s) and poll (0.5 s), and room for a loaded 2-core machine. */
  private static final Duration TAKEOVER_BOUND = Duration.ofSeconds(10 + 1 + 4);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void stop() {
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception e) {
        // closing anyway
      }
    }
  }

  private <T extends AutoCloseable> T keep(T c) {
    open.add(0, c);
    return c;
  }

  private static IGenericClient fhir(URI node, String token) {
    IGenericClient c = TestSofa.CTX.newRestfulGenericClient(node + "/fhir");
    c.registerInterceptor(new BearerTokenAuthInterceptor(token));
    return c;
  }

  private static String patientId(URI node, String app) {
    return fhir(node, app).search().forResource(Patient.class).returnBundle(Bundle.class).execute()
        .getEntry().get(0).getResource().getIdElement().getIdPart();
  }



  @Test
  void deliveringNodeKilledMidDelivery_theOtherTakesOverWithinTheLease_everyEventArrives() throws Exception {
    String db = EmbeddedPostgresSupport.newDatabase();
    int portA = TwoNodeSofaTest.freePort();
    int portB = TwoNodeSofaTest.freePort();
    URI nodeA = URI.create("http://127.0.0.1:" + portA);
    URI nodeB = URI.create("http://127.0.0.1:" + portB);
    RoundRobinProxy lb = keep(new RoundRobinProxy(List.of(nodeA, nodeB)));
    NodeProcess a = keep(NodeProcess.start(db, portA, lb.url(), "node-a"));
    NodeProcess b = keep(NodeProcess.start(db, portB, lb.url(), "node-b"));
    SofaFlows sofa = new SofaFlows(lb.url());
    HookReceiver hook = keep(new HookReceiver());

    Browser clinician = new Browser();
    String emr = sofa.emrToken(clinician, "dr.tremblay", "password");
    String launch = sofa.setContext(emr, "growth-chart");
    String app = sofa.appToken(clinician, launch);
    Subs.createdAt(lb.url(), emr, Subs.restHook(hook.url(), Subs.launchFilter(launch), "id-only"));
    assertThat(hook.await(r -> !r.received().isEmpty(), Duration.ofSeconds(20))).as("handshake").isTrue();

    // the receiver takes the next notification and never answers: a delivery in flight
    hook.hold();
    String patient = patientId(nodeA, app);
    int before = hook.arrivals().size();
    fhir(nodeA, app).create().resource(TestSofa.weight(patient, 20)).execute();
    assertThat(hook.await(r -> r.arrivals().size() > before, Duration.ofSeconds(20))).isTrue();
    String deliverer = HookReceiver.userAgent(hook.arrivals().get(before));
    NodeProcess dying = deliverer.equals("node-a") ? a : b;
    NodeProcess survivor = dying == a ? b : a;
    assertThat(deliverer).isIn("node-a", "node-b");
    // more events while the delivering node is stuck, written through the one that stays
    for (int i = 0; i < 3; i++) {
      fhir(survivor.url(), app).create().resource(TestSofa.weight(patient, 21 + i)).execute();
    }
    long killedAt = System.nanoTime();
    dying.kill();
    hook.release();
    for (int i = 0; i < 2; i++) {
      fhir(survivor.url(), app).create().resource(TestSofa.weight(patient, 30 + i)).execute();
    }

    assertThat(hook.await(r -> r.numbers().size() >= 6, Duration.ofSeconds(40)))
        .as("every event after the takeover, got " + hook.numbers()).isTrue();
    long firstBySurvivor = 0;
    for (HookReceiver.Received r : hook.received()) {
      if (HookReceiver.userAgent(r.headers()).equals(survivor.name()) && r.notification() != null
          && !r.notification().events().isEmpty() && r.arrivedNanos() > killedAt) {
        firstBySurvivor = r.arrivedNanos();
        break;
      }
    }
    Duration takeover = Duration.ofNanos(firstBySurvivor - killedAt);
    System.out.println("[takeover] " + survivor.name() + " delivered " + takeover.toMillis()
        + " ms after " + dying.name() + " was killed mid-delivery");
    assertThat(firstBySurvivor).isPositive();
    assertThat(takeover).isLessThan(TAKEOVER_BOUND);
    assertThat(hook.numbers()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    // at least once: an accepted number arrives again only if the dead node had it in flight
    List<Long> all = hook.events().stream().map(NotificationEvent::number).toList();
    assertThat(all.size() - new TreeSet<>(all).size()).isLessThanOrEqualTo(1);
  }

  @Test
  void bothNodesKilledAndStartedAgain_tokensRefreshSsoContextsAndSubscriptionsSurvive() throws Exception {
    String db = EmbeddedPostgresSupport.newDatabase();
    int portA = TwoNodeSofaTest.freePort();
    int portB = TwoNodeSofaTest.freePort();
    URI nodeA = URI.create("http://127.0.0.1:" + portA);
    URI nodeB = URI.create("http://127.0.0.1:" + portB);
    RoundRobinProxy lb = keep(new RoundRobinProxy(List.of(nodeA, nodeB)));
    NodeProcess a = NodeProcess.start(db, portA, lb.url(), "node-a");
    NodeProcess b = NodeProcess.start(db, portB, lb.url(), "node-b");
    SofaFlows sofa = new SofaFlows(lb.url());
    HookReceiver hook = keep(new HookReceiver());
    try {
      Browser clinician = new Browser();
      String emr = sofa.emrToken(clinician, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      Browser.Authz authz = sofa.authorizeApp(clinician, launch, "launch patient/*.rs patient/Observation.cruds offline_access");
      JsonNode t = sofa.redeem(authz);
      String app = t.get("access_token").asText();
      String refresh = t.get("refresh_token").asText();
      Subs.createdAt(lb.url(), emr, Subs.restHook(hook.url(), Subs.launchFilter(launch), "id-only"));
      assertThat(hook.await(r -> !r.received().isEmpty(), Duration.ofSeconds(20))).isTrue();
      hook.hold();
      String patient = patientId(nodeA, app);
      int before = hook.arrivals().size();
      fhir(nodeA, app).create().resource(TestSofa.weight(patient, 20)).execute();
      fhir(nodeB, app).create().resource(TestSofa.weight(patient, 21)).execute();
      assertThat(hook.await(r -> r.arrivals().size() > before, Duration.ofSeconds(20))).isTrue();

      assertThat(hook.events()).as("nothing was acknowledged before the crash").isEmpty();
      a.kill();
      b.kill();
      hook.release();
      // the held answers now go to dead nodes; what the receiver logs of them proves nothing
      assertThat(hook.awaitSettled(Duration.ofSeconds(20))).isTrue();
      int beforeRestart = hook.received().size();
      a = NodeProcess.start(db, portA, lb.url(), "node-a2");
      b = NodeProcess.start(db, portB, lb.url(), "node-b2");

      // tokens issued before the crash validate on both nodes (same keys, same grants)
      assertThat(readStatus(nodeA, app)).isEqualTo(200);
      assertThat(readStatus(nodeB, app)).isEqualTo(200);
      assertThat(readStatus(nodeB, emr)).isEqualTo(200);
      // the refresh token still rotates
      HttpResponse<String> refreshed = new Browser().postForm(URI.create(nodeB + "/auth/token"),
          Map.of("grant_type", "refresh_token", "refresh_token", refresh, "client_id", "app"), null);
      assertThat(refreshed.statusCode()).as(refreshed.body()).isEqualTo(200);
      assertThat(readStatus(nodeA, TestSofa.json(refreshed.body()).get("access_token").asText()))
          .isEqualTo(200);
      // the SSO session holds: no sign-in form (the credentials below would not pass), and the
      // launch context is live, so a new launch of it succeeds
      Browser.Authz again = clinician.authorize(URI.create(lb.url() + "/auth/authorize"), Map.of(
          "client_id", "app", "redirect_uri", TestSofa.APP_REDIRECT.toString(),
          "aud", lb.url() + "/fhir", "launch", launch, "scope", "launch patient/*.rs"),
          "nobody", "wrong");
      assertThat(again.callback()).containsKey("code");
      assertThat(sofa.redeem(again).get("patient").asText()).isEqualTo(patient);
      // the subscription resumes and the undelivered events arrive, from the restarted nodes
      java.util.function.Supplier<java.util.SortedSet<Long>> resent = () -> new TreeSet<>(
          hook.eventsSince(beforeRestart).stream().map(NotificationEvent::number).toList());
      assertThat(hook.await(r -> resent.get().size() >= 2, Duration.ofSeconds(30)))
          .as("got " + resent.get()).isTrue();
      assertThat(resent.get()).containsExactly(1L, 2L);
    } finally {
      a.close();
      b.close();
    }
  }

  private static int readStatus(URI node, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node + "/fhir/Patient"))
        .header("Authorization", "Bearer " + token).GET().build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
