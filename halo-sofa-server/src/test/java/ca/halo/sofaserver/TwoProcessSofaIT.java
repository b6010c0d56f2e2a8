package ca.halo.sofaserver;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.subscription.NotificationEvent;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.SofaFlows;
import ca.halo.server.TestSofa;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.postgres.nodes.RoundRobinProxy;
import ca.halo.server.subscription.Subs;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable jar as two processes on one PostgreSQL, behind a round-robin proxy: the SoFA
 * flow through the SDK's flows, metrics moving, a node killed (SIGKILL) while a subscription has
 * events pending, both restarted, and a graceful stop (SIGTERM) that hands its leases back.
 * Runs after {@code package} (failsafe), against {@code target/halo-sofa-server.jar}.
 */
class TwoProcessSofaIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final List<AutoCloseable> open = new ArrayList<>();
  @TempDir
  Path dir;

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

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Path config() throws Exception {
    for (String f : List.of("sofa.yaml", "clients.yaml", "catalog.json")) {
      try (var in = getClass().getResourceAsStream("/nodes/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
    return dir.resolve("sofa.yaml");
  }

  private static IGenericClient fhir(URI base, String token) {
    IGenericClient c = TestSofa.CTX.newRestfulGenericClient(base + "/fhir");
    c.registerInterceptor(new BearerTokenAuthInterceptor(token));
    return c;
  }



  private static HttpResponse<String> get(URI url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A counter or histogram count summed over the lines of a scrape that match. */
  private static double metric(String scrape, String name, String... labels) {
    double sum = 0;
    Pattern line = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})? ([0-9.eE+-]+)$",
        Pattern.MULTILINE);
    Matcher m = line.matcher(scrape);
    while (m.find()) {
      String l = m.group(1) == null ? "" : m.group(1);
      boolean all = true;
      for (String want : labels) {
        all &= l.contains(want);
      }
      if (all) {
        sum += Double.parseDouble(m.group(2));
      }
    }
    return sum;
  }

  private static double metricOnBoth(List<SofaProcess> nodes, String name, String... labels)
      throws Exception {
    double sum = 0;
    for (SofaProcess n : nodes) {
      if (n.alive()) {
        HttpResponse<String> r = get(URI.create(n.url() + "/metrics"));
        assertThat(r.statusCode()).isEqualTo(200);
        sum += metric(r.body(), name, labels);
      }
    }
    return sum;
  }

  /** Two nodes started from the jar on one new database, behind a round-robin proxy. */
  private record Cluster(Path config, int portA, int portB, Map<String, String> env,
      RoundRobinProxy lb, SofaProcess nodeA, SofaProcess nodeB) {}

  private Cluster cluster() throws Exception {
    Path config = config();
    String db = EmbeddedPostgresSupport.newDatabase();
    int portA = freePort();
    int portB = freePort();
    RoundRobinProxy lb = keep(new RoundRobinProxy(List.of(URI.create("http://127.0.0.1:" + portA),
        URI.create("http://127.0.0.1:" + portB))));
    Map<String, String> env = Map.of("HALO_STORE_POSTGRES_JDBC_URL", db,
        "HALO_SERVER_PUBLIC_BASE_URL", lb.url().toString());
    SofaProcess nodeA = keep(SofaProcess.start(config, "node-a", portA, env));
    SofaProcess nodeB = keep(SofaProcess.start(config, "node-b", portB, env));
    return new Cluster(config, portA, portB, env, lb, nodeA, nodeB);
  }

  /** A clinician's context, the app launched on it, and a rest-hook subscription to it. */
  private record Launched(SofaFlows sofa, HookReceiver hook, String emr, String launch,
      String app, String patient) {}

  private Launched launchAndSubscribe(RoundRobinProxy lb) throws Exception {
    SofaFlows sofa = new SofaFlows(lb.url());
    HookReceiver hook = keep(new HookReceiver());
    Browser clinician = new Browser();
    String emr = sofa.emrToken(clinician, "dr.tremblay", "password");
    String launch = sofa.setContext(emr, "growth-chart");
    String app = sofa.appToken(clinician, launch);
    String patient = fhir(lb.url(), app).search().forResource(Patient.class)
        .returnBundle(Bundle.class).execute().getEntry().get(0).getResource().getIdElement()
        .getIdPart();
    Subs.createdAt(lb.url(), emr, Subs.restHook(hook.url(), Subs.launchFilter(launch), "id-only"));
    assertThat(hook.await(r -> !r.received().isEmpty(), Duration.ofSeconds(30))).as("handshake")
        .isTrue();
    return new Launched(sofa, hook, emr, launch, app, patient);
  }

  @Test
  void twoNodes_flowThroughTheProxy_killOneMidDelivery_everyEventArrives_restartKeepsTokens()
      throws Exception {
    Cluster c = cluster();
    SofaProcess nodeA = c.nodeA();
    SofaProcess nodeB = c.nodeB();
    RoundRobinProxy lb = c.lb();
    System.out.println("[startup] java -jar to ready: node-a " + nodeA.readyMillis()
        + " ms, node-b " + nodeB.readyMillis() + " ms (PostgreSQL)");
    List<SofaProcess> nodes = List.of(nodeA, nodeB);
    for (SofaProcess n : nodes) {
      assertThat(get(URI.create(n.url() + "/healthz")).statusCode()).isEqualTo(200);
      HttpResponse<String> ready = get(URI.create(n.url() + "/readyz"));
      assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
      assertThat(ready.body()).contains("\"database\":\"pass\"", "\"migrations\":\"pass\"",
          "\"signingKeys\":\"pass\"");
    }
    double issuedBefore = metricOnBoth(nodes, "halo_token_requests_total", "outcome=\"issued\"");
    double requestsBefore = metricOnBoth(nodes, "halo_http_server_requests_seconds_count");

    // the SoFA flow, every request through the proxy (alternating nodes)
    Launched l = launchAndSubscribe(lb);
    SofaFlows sofa = l.sofa();
    HookReceiver hook = l.hook();
    String emr = l.emr();
    String launch = l.launch();
    String app = l.app();
    String patient = l.patient();

    // metrics moved: tokens issued, requests counted, a live context
    assertThat(metricOnBoth(nodes, "halo_token_requests_total", "outcome=\"issued\""))
        .isGreaterThanOrEqualTo(issuedBefore + 2);
    assertThat(metricOnBoth(nodes, "halo_http_server_requests_seconds_count"))
        .isGreaterThan(requestsBefore + 5);
    assertThat(metricOnBoth(nodes, "halo_http_server_requests_seconds_count",
        "route=\"/fhir/$set-context\"", "status=\"200\"")).isGreaterThanOrEqualTo(1);
    // a gauge read from the database at most every 5 s
    long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    double live = 0;
    while (live < 1 && System.nanoTime() < until) {
      live = metric(get(URI.create(nodeA.url() + "/metrics")).body(), "halo_contexts_live");
      if (live < 1) {
        Thread.sleep(500);
      }
    }
    assertThat(live).as("halo_contexts_live on node-a").isGreaterThanOrEqualTo(1);

    // a delivery in flight when its node is killed
    hook.hold();
    int before = hook.arrivals().size();
    fhir(lb.url(), app).create().resource(TestSofa.weight(patient, 20)).execute();
    assertThat(hook.await(r -> r.arrivals().size() > before, Duration.ofSeconds(30))).isTrue();
    String deliverer = HookReceiver.userAgent(hook.arrivals().get(before));
    assertThat(deliverer).isIn("halo-sofa/node-a", "halo-sofa/node-b");
    SofaProcess dying = deliverer.endsWith("node-a") ? nodeA : nodeB;
    SofaProcess survivor = dying == nodeA ? nodeB : nodeA;
    for (int i = 0; i < 3; i++) {
      fhir(lb.url(), app).create().resource(TestSofa.weight(patient, 21 + i)).execute();
    }
    long killedAt = System.nanoTime();
    dying.kill();
    hook.release();
    // the flow goes on through the proxy, which now finds one node
    for (int i = 0; i < 2; i++) {
      fhir(lb.url(), app).create().resource(TestSofa.weight(patient, 30 + i)).execute();
    }
    assertThat(hook.await(r -> r.numbers().size() >= 6, Duration.ofSeconds(60)))
        .as("every event number, got " + hook.numbers()).isTrue();
    System.out.println("[takeover] every event 1..6 at the consumer "
        + Duration.ofNanos(System.nanoTime() - killedAt).toMillis() + " ms after "
        + dying.name() + " was killed");
    assertThat(hook.numbers()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    List<Long> all = hook.events().stream().map(NotificationEvent::number).toList();
    assertThat(all.size() - new TreeSet<>(all).size()).as("repeats (at least once)")
        .isLessThanOrEqualTo(1);
    sofa.clearContext(emr, launch);

    // both restarted: the EMR's token from before still works
    survivor.kill();
    SofaProcess a2 = keep(SofaProcess.start(c.config(), "node-a", c.portA(), c.env()));
    SofaProcess b2 = keep(SofaProcess.start(c.config(), "node-b", c.portB(), c.env()));
    assertThat(a2.alive() && b2.alive()).isTrue();
    String again = sofa.setContext(emr, "growth-chart");
    assertThat(again).isNotBlank();
    sofa.clearContext(emr, again);

    // nothing a node logged holds a token
    for (SofaProcess n : List.of(nodeA, nodeB, a2, b2)) {
      assertThat(String.join("\n", n.output())).doesNotContain(emr).doesNotContain(app);
    }
  }

  @Test
  void sigterm_finishesGracefully_andHandsItsLeasesBackAtOnce() throws Exception {
    Cluster c = cluster();
    SofaProcess nodeA = c.nodeA();
    SofaProcess nodeB = c.nodeB();
    RoundRobinProxy lb = c.lb();
    Launched l = launchAndSubscribe(lb);
    HookReceiver hook = l.hook();
    String app = l.app();
    String patient = l.patient();
    // a delivery in flight (the receiver does not answer): its node holds the lease
    hook.hold();
    int before = hook.arrivals().size();
    fhir(lb.url(), app).create().resource(TestSofa.weight(patient, 20)).execute();
    assertThat(hook.await(r -> r.arrivals().size() > before, Duration.ofSeconds(30))).isTrue();
    String holder = HookReceiver.userAgent(hook.arrivals().get(before));
    SofaProcess leaving = holder.endsWith("node-a") ? nodeA : nodeB;
    SofaProcess staying = leaving == nodeA ? nodeB : nodeA;

    long stopAt = System.nanoTime();
    int exit = leaving.terminate();
    long stopped = System.nanoTime();
    String other = "halo-sofa/" + staying.name();
    assertThat(hook.await(r -> r.arrivals().stream().anyMatch(h -> HookReceiver.userAgent(h).equals(other)),
        Duration.ofSeconds(30))).as("the other node takes the subscription over").isTrue();
    long delivered = System.nanoTime();
    hook.release();
    System.out.println("[sigterm] " + leaving.name() + " stopped in "
        + Duration.ofNanos(stopped - stopAt).toMillis() + " ms (exit " + exit + "); "
        + staying.name() + " delivered "
        + Duration.ofNanos(delivered - stopAt).toMillis() + " ms after the SIGTERM");
    assertThat(String.join("\n", leaving.output())).contains("HALO SoFA stopping: finishing requests")
        .contains("HALO SoFA stopped in");
    // without the hand-back the other node would wait for the lease (10 s) to run out
    assertThat(Duration.ofNanos(delivered - stopAt)).isLessThan(Duration.ofSeconds(5));
  }
}
