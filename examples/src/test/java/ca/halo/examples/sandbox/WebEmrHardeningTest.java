package ca.halo.examples.sandbox;

import static ca.halo.examples.sandbox.SandboxBrowser.location;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The web EMR ({@code /emr/*}) against what an attacker tried (item 16 of the hardening issue),
 * on the sandbox's real servlets over loopback HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebEmrHardeningTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TestSandbox sandbox;
  private Jurisdiction j;
  private URI base;

  @BeforeAll
  void start() {
    sandbox = TestSandbox.start();
    j = sandbox.j;
    base = sandbox.base;
  }

  @AfterAll
  void stop() {
    sandbox.close();
  }

  // ---------------------------------------------------------------- /emr/hook

  @Test
  void hook_postWithoutSecret_refusedWith401BeforeBodyIsRead() throws Exception {
    // 256 MiB announced, nothing sent: a server that reads the body first never answers
    for (String path : new String[] {"/emr/hook", "/emr/hook/not-a-route"}) {
      String head = "POST " + path + " HTTP/1.1\r\nHost: " + base.getAuthority()
          + "\r\nContent-Type: application/fhir+json\r\nContent-Length: 268435456\r\n";
      assertThat(SandboxBrowser.rawStatusLine(base, head, new byte[0], Duration.ofSeconds(5)))
          .as(path).startsWith("HTTP/1.1 401");
      assertThat(SandboxBrowser.rawStatusLine(base, head + "Authorization: Bearer guessed\r\n", new byte[0],
          Duration.ofSeconds(5))).as(path + " with a wrong secret").startsWith("HTTP/1.1 401");
    }
  }

  @Test
  void hook_bodyOverOneMiB_413WithoutReadingItAll() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    b.pressLaunch("growth-chart");
    WebEmrServlet.HookChannel ch = channel(b);
    String head = "POST " + ch.endpoint().getRawPath() + " HTTP/1.1\r\nHost: " + base.getAuthority()
        + "\r\nContent-Type: application/fhir+json\r\nAuthorization: " + ch.authorization() + "\r\n";

    // announced: refused on the header alone (nothing of the 256 MiB is sent)
    assertThat(SandboxBrowser.rawStatusLine(base, head + "Content-Length: 268435456\r\n", new byte[0],
        Duration.ofSeconds(5))).startsWith("HTTP/1.1 413");
    // chunked: 1.25 MiB sent and never finished; the server stops reading after 1 MiB and answers
    StringBuilder chunks = new StringBuilder();
    String chunk = "x".repeat(16 * 1024);
    for (int i = 0; i < 80; i++) {
      chunks.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
    }
    assertThat(SandboxBrowser.rawStatusLine(base, head + "Transfer-Encoding: chunked\r\n",
        chunks.toString().getBytes(StandardCharsets.US_ASCII), Duration.ofSeconds(5))).startsWith("HTTP/1.1 413");
    // and the same channel takes a notification of normal size
    assertThat(postNotification(ch.endpoint(), ch.authorization(),
        SubscriptionNotification.builder("Subscription/" + ch.subscriptionId(), NotificationType.HEARTBEAT)
            .status("active").build())).isEqualTo(200);
  }

  @Test
  void hook_notificationForAnotherSessionsSubscription_reachesNeitherSession() throws Exception {
    SandboxBrowser a = new SandboxBrowser(base);
    a.signInToEmr();
    a.pressLaunch("growth-chart");
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    b.pressLaunch("growth-chart");
    WebEmrServlet.HookChannel ca = channel(a);
    WebEmrServlet.HookChannel cb = channel(b);
    assertThat(ca.authorization()).isNotEqualTo(cb.authorization());
    assertThat(ca.endpoint()).isNotEqualTo(cb.endpoint());

    // A's channel and secret, B's subscription: dropped
    assertThat(postNotification(ca.endpoint(), ca.authorization(), writeBack(cb.subscriptionId(), "Forged weight")))
        .isEqualTo(200);
    // B's channel with A's secret: refused
    assertThat(postNotification(cb.endpoint(), ca.authorization(), writeBack(cb.subscriptionId(), "Forged weight")))
        .isEqualTo(401);
    assertThat(b.get("/emr/write-backs.json").body()).isEqualTo("[]");
    assertThat(a.get("/emr/write-backs.json").body()).isEqualTo("[]");

    // B's own channel, secret and subscription: shown to B only
    assertThat(postNotification(cb.endpoint(), cb.authorization(), writeBack(cb.subscriptionId(), "Body weight")))
        .isEqualTo(200);
    assertThat(JSON.readTree(b.get("/emr/write-backs.json").body()).get(0).asText()).startsWith("Body weight 18.4 kg");
    assertThat(a.get("/emr/write-backs.json").body()).isEqualTo("[]");
  }

  @Test
  void webEmr_appWritesBackThroughItsPage_shownOnlyInOwningSession() throws Exception {
    SandboxBrowser other = new SandboxBrowser(base);
    other.signInToEmr();
    other.pressLaunch("growth-chart");
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    HttpResponse<String> app = b.launchApp("growth-chart");
    assertThat(app.body()).contains("id=\"patient-banner\"").contains("Bouchard");

    HttpResponse<String> r = b.submit(app.body(), "/apps/growth-chart/weight", Map.of(), Map.of("weight", "18.7"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(302);
    assertThat(b.get(location(r)).body()).contains("id=\"saved\"");

    assertThat(SandboxBrowser.eventually(Duration.ofSeconds(15), () -> writeBacksRaw(b).contains("18.7")))
        .as("the write-back reached the EMR").isTrue();
    assertThat(JSON.readTree(writeBacksRaw(b)).get(0).asText()).contains("18.7 kg (for Patient/emr-pat-1001");
    assertThat(writeBacksRaw(other)).isEqualTo("[]");
  }

  private WebEmrServlet.HookChannel channel(SandboxBrowser b) {
    return sandbox.emr().hookChannel(b.cookie("emr_session")).orElseThrow(() ->
        new AssertionError("the session has no subscription"));
  }

  private SubscriptionNotification writeBack(String subscriptionId, String display) {
    Observation o = new Observation();
    o.setId("Observation/forged-1");
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", display)));
    o.setSubject(new Reference("Patient/anyone"));
    o.setValue(new Quantity().setValue(18.4).setUnit("kg"));
    return SubscriptionNotification.builder("Subscription/" + subscriptionId, NotificationType.EVENT_NOTIFICATION)
        .status("active").eventsSinceSubscriptionStart(1).payload(PayloadContent.FULL_RESOURCE)
        .addEvent(new NotificationEvent(1, Instant.now(), "Observation/forged-1", o)).build();
  }

  private int postNotification(URI endpoint, String authorization, SubscriptionNotification n) throws Exception {
    String body = j.sofa.fhirContext().newJsonParser().encodeResourceToString(n.toBundle());
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(endpoint)
        .header("Content-Type", "application/fhir+json").header("Authorization", authorization)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  // ---------------------------------------------------------------- session fixation

  @Test
  void callback_signInWithPlantedSessionCookie_issuesFreshIdAndOldIdSeesNoChart() throws Exception {
    SandboxBrowser victim = new SandboxBrowser(base);
    HttpResponse<String> toIdp = victim.startEmrSignIn();
    String planted = victim.cookie("emr_session"); // what an attacker got for itself and planted
    assertThat(planted).isNotNull();

    HttpResponse<String> chart = victim.finishEmrSignIn(toIdp);

    assertThat(chart.body()).contains("id=\"patient-name\"");
    assertThat(victim.cookie("emr_session")).isNotNull().isNotEqualTo(planted);
    SandboxBrowser attacker = new SandboxBrowser(base);
    attacker.plantCookie("emr_session", planted, "/emr");
    HttpResponse<String> r = attacker.get("/emr/");
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(r.body()).doesNotContain("Bouchard");
    assertThat(location(r).toString()).startsWith(j.sofa.authorizationServer().authorizationEndpoint().toString());
  }

  // ---------------------------------------------------------------- cookies

  @Test
  void cookies_signInOverHttp_httpOnlySameSiteLaxScopedToEmr() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    HttpResponse<String> toIdp = b.startEmrSignIn();
    assertThat(toIdp.headers().allValues("Set-Cookie")).singleElement().satisfies(c -> assertThat(c)
        .startsWith("emr_session=").contains("; Path=/emr;").contains("; HttpOnly").contains("; SameSite=Lax")
        .doesNotContain("Secure"));
    URI callback = b.idp.authorize(location(toIdp), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
    HttpResponse<String> r = b.get(callback);
    assertThat(r.headers().allValues("Set-Cookie")).singleElement().satisfies(c -> assertThat(c)
        .startsWith("emr_session=").contains("; Path=/emr;").contains("; HttpOnly").contains("; SameSite=Lax"));
  }

  @Test
  void cookies_emrServedBehindHttps_markedSecure() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // the EMR's public base is https (a TLS proxy in front); the servlet itself sees plain http
    EmrConfig cfg = new EmrConfig(URI.create("https://127.0.0.1:" + port), j.sofa.fhirBase(), j.sofa.catalogBase(),
        null, Jurisdiction.EMR_CLIENT_ID, Jurisdiction.EMR_SECRET, Jurisdiction.EMR_SCOPES, j.sofa.fhirContext());
    org.eclipse.jetty.server.Server jetty = new org.eclipse.jetty.server.Server();
    org.eclipse.jetty.server.ServerConnector c = new org.eclipse.jetty.server.ServerConnector(jetty);
    c.setHost("127.0.0.1");
    c.setPort(port);
    jetty.addConnector(c);
    org.eclipse.jetty.ee10.servlet.ServletContextHandler h = new org.eclipse.jetty.ee10.servlet.ServletContextHandler("/");
    h.addServlet(new org.eclipse.jetty.ee10.servlet.ServletHolder(new WebEmrServlet(cfg)), "/emr/*");
    jetty.setHandler(h);
    jetty.start();
    try {
      HttpResponse<String> r = new SandboxBrowser(URI.create("http://127.0.0.1:" + port)).get("/emr/");
      assertThat(r.statusCode()).isEqualTo(302);
      assertThat(r.headers().allValues("Set-Cookie")).singleElement().satisfies(v -> assertThat(v)
          .startsWith("emr_session=").contains("; Secure").contains("; HttpOnly").contains("; SameSite=Lax"));
    } finally {
      jetty.stop();
    }
  }

  // ---------------------------------------------------------------- CSRF

  @Test
  void launchAndEnd_postWithoutCsrfTokenOrFromForeignOrigin_403AndNothingChanges() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    String chart = b.signInToEmr().body();
    Map<String, String> launchForm = SandboxBrowser.form(chart, "/emr/launch", Map.of("app", "growth-chart"));
    int contexts = j.sofa.contexts().size();

    HttpResponse<String> r = b.post(b.url("/emr/launch"), Map.of("app", "growth-chart"));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body()).contains("id=\"error\"");
    Map<String, String> wrong = new java.util.HashMap<>(launchForm);
    wrong.put("csrf", "guessed");
    assertThat(b.post(b.url("/emr/launch"), wrong).statusCode()).isEqualTo(403);
    assertThat(b.post(b.url("/emr/launch"), launchForm, "Origin", "http://attacker.example").statusCode())
        .isEqualTo(403);
    assertThat(j.sofa.contexts().size()).as("launch contexts on the SoFA").isEqualTo(contexts);

    // the page's own form goes through, with the Origin a browser sends
    assertThat(b.post(b.url("/emr/launch"), launchForm, "Origin", Html.origin(base)).statusCode()).isEqualTo(302);
    assertThat(j.sofa.contexts().size()).isEqualTo(contexts + 1);
    assertThat(b.post(b.url("/emr/end"), Map.of()).statusCode()).isEqualTo(403);
    assertThat(j.sofa.contexts().size()).as("End without the token clears nothing").isEqualTo(contexts + 1);
    r = b.submit(b.get("/emr/").body(), "/emr/end", Map.of(), Map.of());
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(j.sofa.contexts().size()).isEqualTo(contexts);
  }

  // ---------------------------------------------------------------- sessions: expiry and cap

  @Test
  void sessions_idleLongerThanTimeout_expireAndClearTheirLaunch() throws Exception {
    TestSandbox.MovableClock clock = new TestSandbox.MovableClock();
    try (TestSandbox t = TestSandbox.start(clock, Duration.ofMinutes(30), 100)) {
      SandboxBrowser b = new SandboxBrowser(t.base);
      b.signInToEmr();
      b.pressLaunch("growth-chart");
      String id = b.cookie("emr_session");
      WebEmrServlet.HookChannel ch = t.emr().hookChannel(id).orElseThrow();
      assertThat(t.j.sofa.contexts().size()).isEqualTo(1);

      clock.advance(Duration.ofMinutes(29));
      assertThat(b.get("/emr/").statusCode()).as("used within the timeout").isEqualTo(200);
      clock.advance(Duration.ofMinutes(31));

      HttpResponse<String> r = b.get("/emr/");
      assertThat(r.statusCode()).as("expired: back to sign-in").isEqualTo(302);
      assertThat(r.body()).doesNotContain("Bouchard");
      assertThat(t.j.sofa.contexts().size()).as("the expired session's context was cleared").isZero();
      assertThat(t.emr().hookChannel(id)).isEmpty();
      assertThat(postNotification(ch.endpoint(), ch.authorization(),
          SubscriptionNotification.builder("Subscription/" + ch.subscriptionId(), NotificationType.HEARTBEAT)
              .status("active").build())).as("its rest-hook route is gone").isEqualTo(401);
    }
  }

  @Test
  void sessions_floodOfAnonymousVisits_capHoldsAndSignedInSessionsSurvive() throws Exception {
    try (TestSandbox t = TestSandbox.start(java.time.Clock.systemUTC(), Duration.ofMinutes(30), 3)) {
      SandboxBrowser clinician = new SandboxBrowser(t.base);
      clinician.signInToEmr();
      for (int i = 0; i < 20; i++) {
        assertThat(new SandboxBrowser(t.base).get("/emr/").statusCode()).isEqualTo(302);
        assertThat(t.emr().sessionCount()).isLessThanOrEqualTo(3);
      }
      assertThat(clinician.get("/emr/").statusCode()).as("the signed-in clinician").isEqualTo(200);

      new SandboxBrowser(t.base).signInToEmr();
      new SandboxBrowser(t.base).signInToEmr();
      HttpResponse<String> r = new SandboxBrowser(t.base).get("/emr/");
      assertThat(r.statusCode()).as("full of signed-in sessions").isEqualTo(503);
      assertThat(r.body()).contains("id=\"error\"");
      assertThat(clinician.get("/emr/").statusCode()).isEqualTo(200);
    }
  }

  // ---------------------------------------------------------------- error pages and headers

  @Test
  void errorPages_failedSignInOrUnknownApp_showReferenceNotInternals() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.startEmrSignIn();
    HttpResponse<String> r = b.get("/emr/callback?code=stolen&state=forged");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("id=\"error\"").containsPattern("Reference: [0-9a-f]{12}")
        .doesNotContain("does not match").doesNotContain("Exception").doesNotContain("state");

    b.signInToEmr();
    String chart = b.get("/emr/").body();
    Map<String, String> form = SandboxBrowser.form(chart, "/emr/launch", Map.of("app", "growth-chart"));
    form.put("app", "<img src=x onerror=alert(1)>");
    r = b.post(b.url("/emr/launch"), form);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("id=\"error\"").doesNotContain("onerror").doesNotContain("unknown app");

    r = b.get("/emr/no-such-page");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("id=\"error\"").doesNotContainIgnoringCase("jetty");
  }

  @Test
  void pages_showingPatientData_notCachedNotFramedNoInlineScript() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    HttpResponse<String> chart = b.signInToEmr();
    for (HttpResponse<String> r : java.util.List.of(chart, b.get("/emr/write-backs.json"))) {
      assertThat(r.headers().firstValue("Cache-Control")).as(r.uri().toString()).hasValue("no-store");
      assertThat(r.headers().firstValue("X-Content-Type-Options")).as(r.uri().toString()).hasValue("nosniff");
    }
    assertThat(chart.headers().firstValue("Content-Security-Policy").orElse(""))
        .contains("frame-ancestors 'none'").contains("default-src 'self'").doesNotContain("script-src");
    assertThat(chart.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(chart.body()).doesNotContain("<script>").contains("<script src=\"/emr/write-backs.js\"></script>");
    HttpResponse<String> js = b.get("/emr/write-backs.js");
    assertThat(js.headers().firstValue("Content-Type").orElse("")).startsWith("text/javascript");
    assertThat(js.body()).contains("textContent").doesNotContain("innerHTML");
  }

  // ---------------------------------------------------------------- write-backs.json

  @Test
  void writeBacksJson_displayWithNewlineQuotesAndMarkup_staysValidJsonAndEscapedOnPage() throws Exception {
    String display = "Body weight\nline 2 \"quoted\" \\ back\u2028sep </li><script>alert(1)</script>";
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    writeBackAsApp(b, display);

    assertThat(SandboxBrowser.eventually(Duration.ofSeconds(15), () -> writeBacksRaw(b).contains("line 2")))
        .as("the write-back reached the EMR").isTrue();
    HttpResponse<String> r = b.get("/emr/write-backs.json");
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
    JsonNode list = JSON.readTree(r.body());
    assertThat(list.isArray()).isTrue();
    assertThat(list.get(0).asText()).startsWith(display + " 18.4 kg (for Patient/emr-pat-1001");
    String page = b.get("/emr/").body();
    assertThat(page).contains("&lt;/li&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
        .doesNotContain("<script>alert(1)");
  }

  private static String writeBacksRaw(SandboxBrowser b) {
    try {
      return b.get("/emr/write-backs.json").body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Plays the app of an EMR launch with the SDK's own client (so the test chooses what it writes):
   * the launch's iss and launch id, authorization through the single sign-on, and an Observation
   * with {@code display} written to the SoFA.
   */
  private void writeBackAsApp(SandboxBrowser b, String display) throws Exception {
    Map<String, String> q = SandboxBrowser.query(location(b.pressLaunch("growth-chart")));
    URI iss = URI.create(q.get("iss"));
    try (HaloHttp http = HaloHttp.defaults();
        SmartAppClient app = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.publicClient("growth-chart"))
            .redirectUri(URI.create(base + "/apps/growth-chart/callback")).build()) {
      AuthorizationRedirect r = app.beginEhrLaunch(iss, q.get("launch"),
          SmartScopes.parse("launch openid fhirUser patient/*.rs patient/Observation.c"));
      TokenSet t = app.completeAuthorization(r.pending(),
          b.idp.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD));
      IGenericClient fhir = FhirClients.genericClient(j.sofa.fhirContext(), iss, http, app.tokenProvider(iss, t));
      Observation o = new Observation();
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", display)));
      o.setSubject(new Reference("Patient/" + t.launchContext().patient().orElseThrow()));
      o.setValue(new Quantity().setValue(18.4).setUnit("kg").setSystem("http://unitsofmeasure.org").setCode("kg"));
      fhir.create().resource(o).execute();
    }
  }
}
