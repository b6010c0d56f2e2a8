package ca.halo.server.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.TestClock;
import ca.halo.server.TestSofa;
import ca.halo.server.authz.RegisteredClient;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.Test;

/**
 * The attacker's review of the hardened subscriptions (findings 1-5, 9, 10 and 16), each a
 * regression test over real HTTP on loopback.
 */
class SubscriptionReviewTest {
  private static final String SUB_APP_SCOPES = "launch patient/*.rs patient/Observation.cruds"
      + " patient/Subscription.cruds";

  private static void registerSubApp(TestSofa sofa) {
    sofa.clients.register(RegisteredClient.builder("sub-app").name("Subscribing app")
        .redirectUri(TestSofa.APP_REDIRECT).allowedScopes(SmartScopes.parse(SUB_APP_SCOPES)).build());
  }

  private static String subAppToken(TestSofa sofa, Browser browser, String launch) throws Exception {
    Browser.Authz a = browser.authorize(sofa.authorize(), Map.of("client_id", "sub-app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "launch", launch, "scope", SUB_APP_SCOPES), "dr.tremblay", "password");
    return TestSofa.json(browser.postForm(sofa.token(), Map.of("grant_type", "authorization_code",
        "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "sub-app"), null).body())
        .get("access_token").asText();
  }

  private static String patientOf(TestSofa sofa, String token) {
    return sofa.server.authorizationServer().tokenValidator().validate(token).orElseThrow()
        .patient().orElseThrow();
  }

  private static URI ws(TestSofa sofa) {
    return URI.create(sofa.server.baseUrl().toString().replaceFirst("^http", "ws") + "/ws/subscriptions");
  }

  private static String legitimateUpgrade(URI ws) {
    try {
      HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(ws, new WebSocket.Listener() { })
          .get(5, TimeUnit.SECONDS).abort();
      return "accepted";
    } catch (Exception e) {
      return e.getCause() instanceof java.net.http.WebSocketHandshakeException
          ? "refused " + ((java.net.http.WebSocketHandshakeException) e.getCause()).getResponse()
              .statusCode() : String.valueOf(e);
    }
  }

  /** Sends a websocket upgrade request, then resets the connection at once. */
  private static void resetUpgrade(int port) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port));
      s.setSoLinger(true, 0);
      OutputStream out = s.getOutputStream();
      out.write(("GET /ws/subscriptions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
          + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }
  }

  @Test
  void websocket_upgradesResetAtOnce_leaveNoSlotTaken_review1() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxWebSockets(3)
        .webSocketBindTimeout(Duration.ofSeconds(2)))) {
      int port = sofa.server.baseUrl().getPort();
      for (int i = 0; i < 10; i++) {
        resetUpgrade(port);
      }
      // whatever Jetty made of them, within a bind timeout every slot is free again
      long end = System.nanoTime() + Duration.ofSeconds(6).toNanos();
      String outcome = legitimateUpgrade(ws(sofa));
      while (!outcome.equals("accepted") && System.nanoTime() < end) {
        TimeUnit.MILLISECONDS.sleep(500);
        outcome = legitimateUpgrade(ws(sofa));
      }
      assertThat(outcome).isEqualTo("accepted");
      // and three at once still fit
      List<WebSocket> open = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        open.add(HttpClient.newHttpClient().newWebSocketBuilder()
            .buildAsync(ws(sofa), new WebSocket.Listener() { }).get(5, TimeUnit.SECONDS));
      }
      open.forEach(WebSocket::abort);
    }
  }

  @Test
  void websocket_unboundSocketsPinging_closedAtTheBindDeadline_review9() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxWebSockets(3)
        .webSocketBindTimeout(Duration.ofSeconds(2)))) {
      List<CompletableFuture<Integer>> closed = new ArrayList<>();
      List<WebSocket> mine = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        CompletableFuture<Integer> c = new CompletableFuture<>();
        closed.add(c);
        mine.add(HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(ws(sofa),
            new WebSocket.Listener() {
              @Override
              public java.util.concurrent.CompletionStage<?> onClose(WebSocket w, int code, String r) {
                c.complete(code);
                return null;
              }
            }).get(5, TimeUnit.SECONDS));
      }
      for (int s = 0; s < 8; s++) { // pings never reset the bind deadline
        for (WebSocket w : mine) {
          if (!w.isOutputClosed()) {
            w.sendPing(ByteBuffer.wrap(new byte[] {1}));
          }
        }
        TimeUnit.MILLISECONDS.sleep(500);
      }
      for (CompletableFuture<Integer> c : closed) {
        assertThat(c.get(5, TimeUnit.SECONDS)).isEqualTo(1008);
      }
      assertThat(legitimateUpgrade(ws(sofa))).isEqualTo("accepted");
    }
  }

  @Test
  void events_oneLargeResourceUpdatedManyTimes_answerNotMultiplied_review2() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.subscriptionSettings(s -> s.maxPayloadBytes(256 * 1024)))) {
      registerSubApp(sofa);
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String app = subAppToken(sofa, browser, sofa.setContext(emr, null));
      String patient = patientOf(sofa, app);
      String sub = Subs.created(sofa, app, Subs.websocket(null));
      Observation o = TestSofa.weight(patient, 1);
      o.setValue(new StringType("x".repeat(100 * 1024)));
      String id = sofa.fhir(app).create().resource(o).execute().getId().getIdPart();
      o.setId(id);
      for (int i = 0; i < 40; i++) {
        sofa.fhir(app).update().resource(o).execute();
      }
      HttpResponse<String> ev = Subs.get(sofa, "/Subscription/" + sub
          + "/$events?content=full-resource", app);
      assertThat(ev.statusCode()).isEqualTo(200);
      // 41 events of one 100 KiB resource: it is carried once, not 41 times
      assertThat(ev.body().length()).isLessThan(300 * 1024);
      assertThat(ev.body()).contains("\"41\"");
      // and the budget holds across distinct resources too
      for (int i = 0; i < 5; i++) {
        Observation other = TestSofa.weight(patient, i);
        other.setValue(new StringType("y".repeat(100 * 1024)));
        sofa.fhir(app).create().resource(other).execute();
      }
      HttpResponse<String> more = Subs.get(sofa, "/Subscription/" + sub
          + "/$events?eventsSinceNumber=42&content=full-resource", app);
      assertThat(more.body().length()).isLessThan(300 * 1024);
      assertThat(more.body()).contains("\"46\"");
    }
  }

  @Test
  void deliveries_oneClinicianTarpits_doNotDelayAnotherClinician_review3() throws Exception {
    List<Socket> held = new CopyOnWriteArrayList<>();
    try (TestSofa sofa = new TestSofa(); HookReceiver victim = new HookReceiver();
        ServerSocket tarpit = new ServerSocket(0, 512, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(tarpit.accept()); // never answers
          }
        } catch (Exception e) {
          // closed
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      URI trap = URI.create("http://127.0.0.1:" + tarpit.getLocalPort() + "/hook");
      registerSubApp(sofa);
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      int mine = 0;
      for (int i = 0; i < 20; i++) {
        if (Subs.create(sofa, emr, Subs.heartbeat(Subs.timeout(Subs.restHook(trap, null, null), 30), 1))
            .statusCode() == 201) {
          mine++;
        }
      }
      String app = subAppToken(sofa, browser, sofa.setContext(emr, null));
      for (int i = 0; i < 20; i++) {
        if (Subs.create(sofa, app, Subs.heartbeat(Subs.timeout(Subs.restHook(trap, null, null), 30), 1))
            .statusCode() == 201) {
          mine++;
        }
      }
      assertThat(mine).as("one clinician's subscriptions, all clients and launches").isEqualTo(20);
      TimeUnit.SECONDS.sleep(1);
      assertThat(held.size()).as("tarpit connections held by one clinician").isLessThanOrEqualTo(8);
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      long t0 = System.nanoTime();
      Subs.created(sofa, roy, Subs.restHook(victim.url(), null, null));
      assertThat(victim.await(x -> !x.received().isEmpty(), Duration.ofSeconds(3))).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  @Test
  void subscriptions_boundPerUserAcrossLaunchesAndPerLaunch_review4() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.subscriptionSettings(s -> s.maxSubscriptionsPerOwner(8)))) {
      registerSubApp(sofa);
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      int held = 0;
      for (int l = 0; l < 3; l++) {
        String app = subAppToken(sofa, browser, sofa.setContext(emr, null));
        int inThisLaunch = 0;
        for (int i = 0; i < 6; i++) {
          HttpResponse<String> r = Subs.create(sofa, app, Subs.websocket(null));
          if (r.statusCode() == 201) {
            held++;
            inThisLaunch++;
          } else {
            assertThat(r.statusCode()).isEqualTo(429);
          }
        }
        assertThat(inThisLaunch).isLessThanOrEqualTo(5);
      }
      assertThat(held).isEqualTo(8);
      assertThat(Subs.create(sofa, emr, Subs.websocket(null)).statusCode()).isEqualTo(429);
      // another clinician is not held back
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      assertThat(Subs.create(sofa, roy, Subs.websocket(null)).statusCode()).isEqualTo(201);
    }
  }

  @Test
  void subscriber_tokenRevoked_nothingMoreSentUntilRenewed_review5() throws Exception {
    try (TestSofa sofa = new TestSofa(); HookReceiver hook = new HookReceiver()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String id = Subs.created(sofa, emr, Subs.restHook(hook.url(), Subs.launchFilter(launch),
          "full-resource"));
      assertThat(hook.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      HttpResponse<String> rv = browser.postForm(sofa.server.authorizationServer().revocationEndpoint(),
          Map.of("token", emr), TestSofa.basic("emr", TestSofa.EMR_SECRET));
      assertThat(rv.statusCode()).isEqualTo(200);
      assertThat(Subs.get(sofa, "/Subscription", emr).statusCode()).isEqualTo(401);
      String app = sofa.appToken(browser, launch);
      String patient = patientOf(sofa, app);
      String written = sofa.fhir(app).create().resource(TestSofa.weight(patient, 18.2)).execute()
          .getId().toUnqualifiedVersionless().getValue();
      // what the revoked token could not read is neither numbered nor sent
      String fresh = sofa.emrToken(browser, "dr.tremblay", "password");
      assertThat(Subs.get(sofa, "/Subscription/" + id + "/$status", fresh).body())
          .contains("\"events-since-subscription-start\",\"valueString\":\"0\"");
      assertThat(hook.events()).isEmpty();
      assertThat(hook.received().stream().anyMatch(r -> r.body().contains(written))).isFalse();
      // renewed by its owner with a fresh token: the next write arrives
      String again = sofa.fhir(app).create().resource(TestSofa.weight(patient, 19)).execute()
          .getId().toUnqualifiedVersionless().getValue();
      assertThat(hook.await(x -> x.events().stream().anyMatch(e -> e.focus().orElse("").equals(again)),
          Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void subscriber_standsOnItsSignInGrant_pausedWhenItEndsResumedByTheOwner_review5() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (TestSofa sofa = new TestSofa(b -> b.clock(clock).contextTimeToLive(Duration.ofHours(24)));
        HookReceiver hook = new HookReceiver()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String id = Subs.created(sofa, emr, Subs.restHook(hook.url(), Subs.launchFilter(launch),
          "full-resource"));
      assertThat(hook.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      // 2 h on: the EMR's 1 h access token has expired, its sign-in grant (8 h) has not
      clock.advance(Duration.ofHours(2));
      assertThat(Subs.get(sofa, "/Subscription", emr).statusCode()).isEqualTo(401);
      String app = sofa.appToken(browser, launch);
      String patient = patientOf(sofa, app);
      sofa.fhir(app).create().resource(TestSofa.weight(patient, 18.2)).execute();
      assertThat(hook.await(x -> x.events().size() == 1, Duration.ofSeconds(10))).isTrue();
      // 9 h on: the grant has ended too; nothing more is numbered or sent
      clock.advance(Duration.ofHours(7));
      String app2 = sofa.appToken(new Browser(), launch);
      sofa.fhir(app2).create().resource(TestSofa.weight(patient, 19)).execute();
      String fresh = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      assertThat(Subs.get(sofa, "/Subscription/" + id + "/$status", fresh).body())
          .as("not numbered once the subscriber's grant had ended")
          .contains("\"events-since-subscription-start\",\"valueString\":\"1\"");
      // that call renewed it with the fresh sign-in: the next write arrives
      Subscription s = Subs.read(sofa, fresh, id);
      assertThat(s.getStatus()).isIn(Subscription.SubscriptionStatus.ACTIVE,
          Subscription.SubscriptionStatus.REQUESTED);
      sofa.fhir(app2).create().resource(TestSofa.weight(patient, 20)).execute();
      assertThat(hook.await(x -> x.events().size() == 2, Duration.ofSeconds(10))).isTrue();
      assertThat(hook.events().get(1).number()).isEqualTo(2);
    }
  }

  @Test
  void create_slowDns_failsWithinTheCheckTimeoutAndServerStaysResponsive_review10() throws Exception {
    EndpointPolicy slow = EndpointPolicy.builder().resolver(h -> {
      try {
        Thread.sleep(8000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new java.net.UnknownHostException(h);
    }).build();
    try (TestSofa sofa = new TestSofa(b -> b.maxThreads(16).subscriptionEndpointPolicy(slow))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      HttpClient http = HttpClient.newHttpClient();
      // HAPI builds its CapabilityStatement on the first /metadata (seconds on a busy machine):
      // what is measured below is the server's responsiveness during the flood, not that
      assertThat(http.send(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/metadata"))
          .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      List<CompletableFuture<HttpResponse<String>>> flood = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        flood.add(http.sendAsync(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/Subscription"))
            .header("Authorization", "Bearer " + emr).header("Content-Type", "application/fhir+json")
            .POST(HttpRequest.BodyPublishers.ofString(TestSofa.CTX.newJsonParser().encodeResourceToString(
                Subs.restHook(URI.create("https://x" + i + ".slow.example/hook"), null, null)))).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      long t0 = System.nanoTime();
      HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/metadata"))
          .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(m.statusCode()).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
      for (CompletableFuture<HttpResponse<String>> f : flood) {
        assertThat(f.get(10, TimeUnit.SECONDS).statusCode()).isIn(400, 503);
      }
      assertThat(sofa.server.subscriptions().size()).isZero();
    }
  }

  @Test
  void headers_onlyAuthorizationAndApplicationHeaders_review16() throws Exception {
    try (TestSofa sofa = new TestSofa(); HookReceiver r = new HookReceiver()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      for (String h : new String[] {"Content-Location: x", "Content-Disposition: x", "Content-Range: x",
          "X-Real-IP: 10.0.0.1", "True-Client-IP: 10.0.0.1", "X-Forwarded: for=10.0.0.1",
          "X-Original-URL: /admin", "X-Rewrite-URL: /admin", "X-HTTP-Method-Override: DELETE",
          "X-Client-IP: 10.0.0.1", "X-Host: internal", "Accept: */*"}) {
        Subscription s = Subs.restHook(r.url(), null, null);
        s.getChannel().addHeader(h);
        assertThat(Subs.create(sofa, emr, s).statusCode()).as(h).isEqualTo(400);
      }
      Subscription ok = Subs.restHook(r.url(), null, null);
      ok.getChannel().addHeader("Authorization: Bearer x").addHeader("X-Api-Key: k");
      assertThat(Subs.create(sofa, emr, ok).statusCode()).isEqualTo(201);
    }
  }

  /**
   * An endpoint is at most 2,048 characters (issue 18's review: a subscriber updating its
   * endpoint with megabyte URLs had the server hold them); one at the bound is accepted.
   */
  @Test
  void endpoint_longerThan2048Characters_refused400_atTheBoundAccepted() throws Exception {
    try (TestSofa sofa = new TestSofa(); HookReceiver r = new HookReceiver()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      String base = r.url().toString() + "?pad=";
      Subscription tooLong = Subs.restHook(java.net.URI.create(base + "a".repeat(2049 - base.length())), null, null);
      HttpResponse<String> refused = Subs.create(sofa, emr, tooLong);
      assertThat(refused.statusCode()).isEqualTo(400);
      assertThat(refused.body()).contains("OperationOutcome").contains("2048");
      Subscription atBound = Subs.restHook(java.net.URI.create(base + "a".repeat(2048 - base.length())), null, null);
      assertThat(Subs.create(sofa, emr, atBound).statusCode()).isEqualTo(201);
    }
  }

  @Test
  void addressClasses_teredoDiscardAnd6to4Relay_notPublic_informational() throws Exception {
    for (String a : new String[] {"2001:0:4136:e378::1", "100::1", "192.88.99.1"}) {
      assertThat(EndpointPolicy.isPublic(InetAddress.getByName(a))).as(a).isFalse();
    }
  }

  static String readAll(InputStream in) throws java.io.IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }
}
