package ca.halo.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloResponseException;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Subscription client and SoFA engine on loopback: both channels, recovery, forged posts. */
class SubscriptionLoopbackTest {
  private static final String SECRET = "hook-secret-7f3a";
  private TestSofa sofa;
  private Browser browser;
  private SubscriptionClient subs;
  private String launch;
  private String patientId;
  private IGenericClient app;
  private final List<NotificationEvent> received = Collections.synchronizedList(new ArrayList<>());
  private final Semaphore arrivals = new Semaphore(0);

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.subscriptionSettings(s -> s.maxAttempts(2)
        .initialBackoff(Duration.ofMillis(50)).maxBackoff(Duration.ofMillis(200))));
    browser = new Browser();
    String emr = sofa.emrToken(browser, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    launch = TestSofa.launchId(out);
    patientId = ((Bundle) out.getParameter("resourcesResponse").getResource()).getEntryFirstRep()
        .getResponse().getLocation().split("/")[1];
    subs = SubscriptionClient.builder().fhirBase(sofa.fhirBase())
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry(emr))).build();
    app = sofa.fhir(sofa.appToken(browser, launch));
  }

  @AfterEach
  void stop() {
    subs.close();
    sofa.close();
  }

  private NotificationConsumer consumer(boolean fetchFocus) {
    return NotificationConsumer.builder(subs, (id, e) -> {
      received.add(e);
      arrivals.release();
    }).fetchFocus(fetchFocus).build();
  }

  private void write(int n) {
    for (int i = 0; i < n; i++) {
      app.create().resource(TestSofa.weight(patientId, 20 + i)).execute();
    }
  }

  private void awaitEvents(int n) throws InterruptedException {
    assertThat(arrivals.tryAcquire(n, 15, TimeUnit.SECONDS))
        .as("expected %d events, got %s", n, received).isTrue();
  }

  private List<Long> numbers() {
    synchronized (received) {
      return received.stream().map(NotificationEvent::number).toList();
    }
  }

  @Test
  void restHook_handshakeThenEventsInOrderWithFocus() throws Exception {
    RestHookHandler handler = RestHookHandler.builder(consumer(true)).requireHeader("Authorization", "Bearer " + SECRET).build();
    try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook", handler)) {
      Subscription s = subs.create(SubscriptionRequest.restHook(r.url()).header("Authorization", "Bearer " + SECRET)
          .launch(launch).resourceType("Observation").payload(PayloadContent.ID_ONLY).build());
      assertThat(s.getCriteria()).isEqualTo(ca.halo.core.subscription.Backport.HALO_TOPIC);
      subs.awaitActive(s.getIdPart(), Duration.ofSeconds(10));
      write(3);
      awaitEvents(3);
      assertThat(numbers()).containsExactly(1L, 2L, 3L);
      assertThat(received).allSatisfy(e -> {
        assertThat(e.focus().orElseThrow()).startsWith("Observation/");
        assertThat(e.resource()).isPresent(); // fetched for id-only
      });
      SubscriptionNotification st = subs.status(s.getIdPart());
      assertThat(st.eventsSinceSubscriptionStart()).isEqualTo(3);
      assertThat(st.status()).contains("active");
      SubscriptionNotification ev = subs.events(EventsRequest.builder(s.getIdPart()).since(2).until(3)
          .content(PayloadContent.FULL_RESOURCE).build());
      assertThat(ev.events()).extracting(NotificationEvent::number).containsExactly(2L, 3L);
      assertThat(ev.events().get(0).resource()).isPresent();
    }
  }

  @Test
  void restHook_filtersLeaveOtherChangesOut() throws Exception {
    RestHookHandler handler = RestHookHandler.builder(consumer(false)).build();
    try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook", handler)) {
      Subscription s = subs.create(SubscriptionRequest.restHook(r.url()).resourceType("Condition").build());
      subs.awaitActive(s.getIdPart(), Duration.ofSeconds(10));
      write(2); // Observations: filtered out
      assertThat(subs.status(s.getIdPart()).eventsSinceSubscriptionStart()).isZero();
    }
  }

  @Test
  void restHook_heartbeatsArrive() throws Exception {
    CountDownLatch heartbeats = new CountDownLatch(2);
    com.sun.net.httpserver.HttpServer raw = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 8);
    raw.createContext("/hook", ex -> {
      try (ex) {
        Bundle b = sofa.server.fhirContext().newJsonParser().parseResource(Bundle.class,
            new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        if (SubscriptionNotification.parse(b).type().equals(ca.halo.core.subscription.NotificationType.HEARTBEAT)) {
          heartbeats.countDown();
        }
        ex.sendResponseHeaders(200, -1);
      }
    });
    raw.start();
    try {
      Subscription s = subs.create(SubscriptionRequest.restHook(
          URI.create("http://127.0.0.1:" + raw.getAddress().getPort() + "/hook"))
          .heartbeatPeriod(Duration.ofSeconds(1)).build());
      subs.awaitActive(s.getIdPart(), Duration.ofSeconds(10));
      assertThat(heartbeats.await(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      raw.stop(0);
    }
  }

  @Test
  void restHook_receiverDownThenBack_everyEventOnceInOrder() throws Exception {
    RestHookHandler handler = RestHookHandler.builder(consumer(false)).requireHeader("X-Hook", SECRET).build();
    RestHookReceiver first = RestHookReceiver.start("127.0.0.1", 0, "/hook", handler);
    int port = first.url().getPort();
    Subscription s = subs.create(SubscriptionRequest.restHook(first.url()).header("X-Hook", SECRET)
        .launch(launch).heartbeatPeriod(Duration.ofSeconds(1)).build());
    subs.awaitActive(s.getIdPart(), Duration.ofSeconds(10));
    write(2);
    awaitEvents(2);
    first.close(); // the EMR goes down
    write(3);      // events 3..5 cannot be delivered
    // the server gives up after 2 attempts and marks the subscription error, still numbering
    Subscription errored = awaitStatus(s.getIdPart(), Subscription.SubscriptionStatus.ERROR);
    assertThat(errored.getError()).contains("failed");
    assertThat(subs.status(s.getIdPart()).eventsSinceSubscriptionStart()).isEqualTo(5);
    try (RestHookReceiver back = RestHookReceiver.start("127.0.0.1", port, "/hook", handler)) {
      awaitEvents(3); // a heartbeat finds it back, the server resumes where it stopped
      write(1);
      awaitEvents(1);
      assertThat(numbers()).containsExactlyElementsOf(LongStream.rangeClosed(1, 6).boxed().toList());
      assertThat(subs.read(s.getIdPart()).getStatus()).isEqualTo(Subscription.SubscriptionStatus.ACTIVE);
    }
  }

  private Subscription awaitStatus(String id, Subscription.SubscriptionStatus want) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    Subscription s = subs.read(id);
    while (s.getStatus() != want && System.nanoTime() < deadline) {
      CountDownLatch tick = new CountDownLatch(1);
      tick.await(50, TimeUnit.MILLISECONDS);
      s = subs.read(id);
    }
    assertThat(s.getStatus()).isEqualTo(want);
    return s;
  }

  @Test
  void consumer_gapInNotifications_filledWithEventsOperation() throws Exception {
    // a receiver that misses event 2 (simulated: only events 1 and 3 are handed over)
    Subscription s = subs.create(SubscriptionRequest.websocket().launch(launch).build());
    write(3);
    NotificationConsumer c = consumer(false);
    SubscriptionNotification all = subs.events(EventsRequest.builder(s.getIdPart()).since(1).until(3).build());
    SubscriptionNotification one = SubscriptionNotification.builder("Subscription/" + s.getIdPart(),
        ca.halo.core.subscription.NotificationType.EVENT_NOTIFICATION).eventsSinceSubscriptionStart(1)
        .addEvent(all.events().get(0)).build();
    SubscriptionNotification three = SubscriptionNotification.builder("Subscription/" + s.getIdPart(),
        ca.halo.core.subscription.NotificationType.EVENT_NOTIFICATION).eventsSinceSubscriptionStart(3)
        .addEvent(all.events().get(2)).build();
    assertThat(c.accept(one)).isTrue();
    assertThat(c.accept(three)).isTrue();
    assertThat(c.accept(three)).isTrue(); // duplicate: dropped
    assertThat(numbers()).containsExactly(1L, 2L, 3L);
    assertThat(c.lastDelivered(s.getIdPart())).isEqualTo(3);
  }

  @Test
  void restHook_forgedOrMalformedPost_refusedAndNothingDelivered() throws Exception {
    RestHookHandler handler = RestHookHandler.builder(consumer(false)).requireHeader("Authorization", "Bearer " + SECRET).build();
    Subscription s = subs.create(SubscriptionRequest.websocket().build());
    write(1);
    String body = sofa.server.fhirContext().newJsonParser().encodeResourceToString(
        subs.events(EventsRequest.builder(s.getIdPart()).since(1).until(1).build()).toBundle());
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    assertThat(handler.handle(Map.of(), bytes)).isEqualTo(401);
    assertThat(handler.handle(Map.of("Authorization", List.of("Bearer wrong")), bytes)).isEqualTo(401);
    assertThat(handler.handle(Map.of("authorization", List.of("Bearer " + SECRET)),
        "{\"resourceType\":\"Patient\"}".getBytes(StandardCharsets.UTF_8))).isEqualTo(400);
    assertThat(handler.handle(Map.of("authorization", List.of("Bearer " + SECRET)),
        "not json".getBytes(StandardCharsets.UTF_8))).isEqualTo(400);
    assertThat(received).isEmpty();
    // over HTTP as well
    try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook", handler)) {
      var resp = browser.http.send(java.net.http.HttpRequest.newBuilder(r.url())
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(resp.statusCode()).isEqualTo(401);
    }
    assertThat(received).isEmpty();
  }

  @Test
  void websocket_eventsThenDropAndReconnect_allRecoveredNoDuplicates() throws Exception {
    Subscription s = subs.create(SubscriptionRequest.websocket().launch(launch).build());
    assertThat(s.getStatus()).isEqualTo(Subscription.SubscriptionStatus.ACTIVE);
    try (WebSocketConsumer ws = WebSocketConsumer.builder(subs, s.getIdPart(), consumer(false)).build()) {
      ws.start();
      write(2);
      awaitEvents(2);
      ws.dropConnection();
      write(3); // while disconnected (or reconnecting)
      awaitEvents(3);
      write(1);
      awaitEvents(1);
      assertThat(numbers()).containsExactlyElementsOf(LongStream.rangeClosed(1, 6).boxed().toList());
      assertThat(ws.connectCount()).isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void badSubscriptions_refusedWithReasons() {
    assertThatThrownBy(() -> subs.create(SubscriptionRequest.restHook(URI.create("http://emr.example.org/hook")).build()))
        .isInstanceOfSatisfying(HaloResponseException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(400);
          assertThat(e.getMessage()).contains("https");
        });
    assertThatThrownBy(() -> subs.create(SubscriptionRequest.websocket().topic("http://other/topic").build()))
        .isInstanceOf(HaloResponseException.class).hasMessageContaining("criteria");
    Subscription bad = SubscriptionRequest.websocket().build().toSubscription();
    bad.getCriteriaElement().addExtension(ca.halo.core.subscription.Backport.FILTER_CRITERIA,
        new org.hl7.fhir.r4.model.StringType("Observation?colour=red"));
    assertThatThrownBy(() -> subs.fhir().create().resource(bad).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.InvalidRequestException.class);
  }

  @Test
  void otherCaller_cannotSeeOrManageTheSubscription() throws Exception {
    Subscription s = subs.create(SubscriptionRequest.websocket().build());
    String other = sofa.emrToken(new Browser(), "dr.roy", "password2");
    try (SubscriptionClient theirs = SubscriptionClient.builder().fhirBase(sofa.fhirBase())
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry(other))).build()) {
      assertThatThrownBy(() -> theirs.read(s.getIdPart()))
          .isInstanceOfSatisfying(HaloResponseException.class, e -> assertThat(e.httpStatus()).isEqualTo(404));
      assertThatThrownBy(() -> theirs.events(EventsRequest.builder(s.getIdPart()).since(1).build()))
          .isInstanceOf(HaloResponseException.class);
      assertThatThrownBy(() -> theirs.bindingToken(s.getIdPart())).isInstanceOf(HaloResponseException.class);
    }
  }

  @Test
  void requestRoundTrip_backportShape() {
    Subscription s = SubscriptionRequest.restHook(URI.create("https://emr.example/hook"))
        .header("Authorization", "Bearer x").patient("Patient/1").launch("L").resourceType("Observation")
        .payload(PayloadContent.FULL_RESOURCE).heartbeatPeriod(Duration.ofSeconds(60))
        .timeout(Duration.ofSeconds(5)).maxCount(10).build().toSubscription();
    String json = TestSofa.CTX.newJsonParser().encodeResourceToString(s);
    assertThat(json).contains("backport-filter-criteria").contains("Observation?patient=Patient/1&launch=L")
        .contains("backport-payload-content").contains("full-resource").contains("backport-heartbeat-period")
        .contains("backport-timeout").contains("backport-max-count").contains("rest-hook");
    Subscription back = TestSofa.CTX.newJsonParser().parseResource(Subscription.class, json);
    assertThat(TestSofa.CTX.newJsonParser().encodeResourceToString(back)).isEqualTo(json);
  }

  @Test
  void notification_roundTrip() {
    SubscriptionNotification n = SubscriptionNotification.builder("Subscription/1",
        ca.halo.core.subscription.NotificationType.EVENT_NOTIFICATION).topic("t").status("active")
        .eventsSinceSubscriptionStart(7)
        .addEvent(new NotificationEvent(7, java.time.Instant.parse("2026-01-01T00:00:00Z"), "Observation/9", null))
        .build();
    Bundle b = n.toBundle();
    String json = TestSofa.CTX.newJsonParser().encodeResourceToString(b);
    SubscriptionNotification back = SubscriptionNotification.parse(
        TestSofa.CTX.newJsonParser().parseResource(Bundle.class, json));
    assertThat(back).isEqualTo(n);
    assertThatThrownBy(() -> SubscriptionNotification.parse(new Bundle().setType(Bundle.BundleType.COLLECTION)))
        .isInstanceOf(ca.halo.core.HaloParseException.class);
  }

  @Test
  void websocket_heartbeatsKeepTheSocket_silenceTriggersReconnect() throws Exception {
    Subscription beating = subs.create(SubscriptionRequest.websocket().heartbeatPeriod(Duration.ofSeconds(1)).build());
    Subscription silent = subs.create(SubscriptionRequest.websocket().build());
    try (WebSocketConsumer alive = WebSocketConsumer.builder(subs, beating.getIdPart(), consumer(false))
            .heartbeatTimeout(Duration.ofMillis(2500)).build();
        WebSocketConsumer quiet = WebSocketConsumer.builder(subs, silent.getIdPart(), consumer(false))
            .heartbeatTimeout(Duration.ofMillis(800)).initialBackoff(Duration.ofMillis(50)).build()) {
      alive.start();
      quiet.start();
      new CountDownLatch(1).await(4, TimeUnit.SECONDS);
      assertThat(alive.connectCount()).as("heartbeats arrive every second: no reconnect").isEqualTo(1);
      assertThat(quiet.connectCount()).as("no heartbeat configured: the watchdog reconnects").isGreaterThanOrEqualTo(2);
    }
  }
}
