package ca.halo.examples.sandbox;

import static ca.halo.examples.sandbox.SandboxBrowser.location;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The sample SMART apps ({@code /apps/*}) against what an attacker tried (item 16 of the hardening
 * issue), on the sandbox's real servlets over loopback HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SampleAppHardeningTest {
  private Jurisdiction j;
  private URI base;

  @BeforeAll
  void start() {
    j = Serve.withWebPages("127.0.0.1", 0);
    base = j.sofa.baseUrl();
  }

  @AfterAll
  void stop() {
    j.close();
  }

  // ---------------------------------------------------------------- launch?iss=

  @Test
  void launch_issNotOnAllowList_400WithoutFetchingOrRedirecting() throws Exception {
    AtomicInteger hits = new AtomicInteger();
    HttpServer decoy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    decoy.createContext("/", x -> {
      hits.incrementAndGet();
      byte[] b = ("{\"issuer\":\"http://127.0.0.1:" + decoy.getAddress().getPort() + "/fhir\","
          + "\"authorization_endpoint\":\"https://attacker.example/authorize\","
          + "\"token_endpoint\":\"https://attacker.example/token\","
          + "\"capabilities\":[\"launch-ehr\"],\"code_challenge_methods_supported\":[\"S256\"]}")
          .getBytes(StandardCharsets.UTF_8);
      x.getResponseHeaders().add("Content-Type", "application/json");
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    decoy.start();
    try {
      String fhir = j.sofa.fhirBase().toString();
      String[] untrusted = {
          "http://127.0.0.1:" + decoy.getAddress().getPort() + "/fhir", // a foreign server on loopback
          fhir + "/../decoy", fhir + "x", fhir + "?a=b", fhir + "#f",
          fhir.replace("http://", "http://user@"), fhir.replace("http://", "https://"), "/fhir", ""};
      SandboxBrowser b = new SandboxBrowser(base);
      for (String iss : untrusted) {
        HttpResponse<String> r = b.get("/apps/growth-chart/launch?iss=" + URLEncoder.encode(iss, StandardCharsets.UTF_8)
            + "&launch=abc");
        assertThat(r.statusCode()).as(iss).isEqualTo(400);
        assertThat(r.headers().firstValue("Location")).as(iss).isEmpty();
        assertThat(r.body()).as(iss).contains("id=\"error\"").doesNotContain("attacker.example");
        assertThat(b.cookie("app_growth_chart")).as("no session for " + iss).isNull();
      }
      assertThat(hits.get()).as("requests that reached the untrusted iss").isZero();
    } finally {
      decoy.stop(0);
    }
  }

  @Test
  void launch_trustedIss_redirectsToAuthorizeEndpointOfItsDiscovery() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    String discovery = b.get(URI.create(j.sofa.fhirBase() + "/.well-known/smart-configuration")).body();
    String authorize = new com.fasterxml.jackson.databind.ObjectMapper().readTree(discovery)
        .path("authorization_endpoint").asText();
    assertThat(authorize).isNotEmpty();
    for (String iss : new String[] {j.sofa.fhirBase().toString(), j.sofa.fhirBase() + "/"}) {
      HttpResponse<String> r = b.get("/apps/growth-chart/launch?iss="
          + URLEncoder.encode(iss, StandardCharsets.UTF_8) + "&launch=abc");
      assertThat(r.statusCode()).as(iss).isEqualTo(302);
      URI to = location(r);
      assertThat(to.toString()).as(iss).startsWith(authorize + "?");
      assertThat(SandboxBrowser.query(to)).containsEntry("aud", j.sofa.fhirBase().toString())
          .containsEntry("launch", "abc").containsEntry("client_id", "growth-chart");
    }
  }

  // ---------------------------------------------------------------- session fixation, cookies

  @Test
  void callback_appLaunchWithPlantedCookie_issuesFreshIdAndOldIdSeesNothing() throws Exception {
    SandboxBrowser victim = new SandboxBrowser(base);
    victim.signInToEmr();
    HttpResponse<String> toAuthorize = victim.get(location(victim.pressLaunch("growth-chart")));
    assertThat(toAuthorize.headers().allValues("Set-Cookie")).singleElement().satisfies(c -> assertThat(c)
        .startsWith("app_growth_chart=").contains("; Path=/apps/growth-chart;").contains("; HttpOnly")
        .contains("; SameSite=Lax").doesNotContain("Secure"));
    String planted = victim.cookie("app_growth_chart");

    HttpResponse<String> page = victim.finishAppLaunch(toAuthorize);

    assertThat(page.body()).contains("id=\"patient-banner\"");
    assertThat(victim.cookie("app_growth_chart")).isNotNull().isNotEqualTo(planted);
    SandboxBrowser attacker = new SandboxBrowser(base);
    attacker.plantCookie("app_growth_chart", planted, "/apps/growth-chart");
    HttpResponse<String> r = attacker.get("/apps/growth-chart/");
    assertThat(r.body()).contains("id=\"not-launched\"").doesNotContain("Bouchard");
  }

  // ---------------------------------------------------------------- the write-back form

  @Test
  void weight_postWithoutCsrfTokenOrFromForeignOrigin_403AndNothingWritten() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    String page = b.launchApp("growth-chart").body();
    Map<String, String> form = SandboxBrowser.form(page, "/apps/growth-chart/weight", Map.of());
    assertThat(form).containsKey("csrf");

    assertThat(b.post(b.url("/apps/growth-chart/weight"), Map.of("weight", "66.6")).statusCode()).isEqualTo(403);
    Map<String, String> forged = new HashMap<>(form);
    forged.put("weight", "66.6");
    forged.put("csrf", "guessed");
    assertThat(b.post(b.url("/apps/growth-chart/weight"), forged).statusCode()).isEqualTo(403);
    forged.put("csrf", form.get("csrf"));
    assertThat(b.post(b.url("/apps/growth-chart/weight"), forged, "Origin", "http://attacker.example").statusCode())
        .isEqualTo(403);
    assertThat(b.get("/apps/growth-chart/").body()).doesNotContain("66.6");

    HttpResponse<String> r = b.post(b.url("/apps/growth-chart/weight"), forged, "Origin", Html.origin(base));
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(b.get(location(r)).body()).contains("66.6").contains("id=\"saved\"");
  }

  @Test
  void weight_notAPlausibleNumber_400WithAdviceNotInternals() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    String page = b.launchApp("growth-chart").body();
    for (String w : new String[] {"abc", "-1", "0", "1e9", "18.23456", ""}) {
      HttpResponse<String> r = b.submit(page, "/apps/growth-chart/weight", Map.of(), Map.of("weight", w));
      assertThat(r.statusCode()).as(w).isEqualTo(400);
      assertThat(r.body()).as(w).contains("id=\"error\"").contains("a number such as 18.2")
          .doesNotContain("Exception").doesNotContain("neither a decimal digit");
    }
  }

  @Test
  void appPage_savedParameterNotAnObservationId_notShown() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    b.launchApp("growth-chart");
    String spoof = b.get("/apps/growth-chart/?saved=" + URLEncoder.encode("Call 555-0100 to confirm", StandardCharsets.UTF_8)).body();
    assertThat(spoof).contains("id=\"patient-banner\"").doesNotContain("id=\"saved\"").doesNotContain("555-0100");
    assertThat(b.get("/apps/growth-chart/?saved=Observation/abc-1").body()).contains("<p id=\"saved\">Saved Observation/abc-1</p>");
  }

  // ---------------------------------------------------------------- error pages and headers

  @Test
  void errorPages_forgedCallbackOrUnknownPath_showNoInternals() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    b.get(location(b.pressLaunch("growth-chart"))); // a launch in progress: the app waits for its callback
    HttpResponse<String> r = b.get("/apps/growth-chart/callback?code=stolen&state=forged");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("id=\"error\"").containsPattern("Reference: [0-9a-f]{12}")
        .doesNotContain("does not match").doesNotContain("Exception");
    for (String path : new String[] {"/apps/legacy-viewer/", "/apps/nope/", "/apps/growth-chart/x/y", "/apps/growth-chart/x"}) {
      r = b.get(path);
      assertThat(r.statusCode()).as(path).isEqualTo(404);
      assertThat(r.body()).as(path).contains("id=\"error\"").doesNotContainIgnoringCase("jetty");
    }
  }

  @Test
  void appPage_showingPatientData_notCachedNotFramed() throws Exception {
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    HttpResponse<String> page = b.launchApp("growth-chart");
    assertThat(page.body()).contains("Bouchard");
    assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("frame-ancestors 'none'");
    assertThat(page.headers().firstValue("X-Frame-Options")).hasValue("DENY");
  }

  // ---------------------------------------------------------------- sessions: expiry and cap

  @Test
  void sessions_floodOfLaunches_capHoldsIdleOnesExpireAndLaunchedAppSurvives() throws Exception {
    TestSandbox.MovableClock clock = new TestSandbox.MovableClock();
    try (TestSandbox t = TestSandbox.start(clock, Duration.ofMinutes(30), 2)) {
      SandboxBrowser b = new SandboxBrowser(t.base);
      b.signInToEmr();
      assertThat(b.launchApp("growth-chart").body()).contains("id=\"patient-banner\"");
      String iss = URLEncoder.encode(t.j.sofa.fhirBase().toString(), StandardCharsets.UTF_8);
      for (int i = 0; i < 20; i++) {
        assertThat(new SandboxBrowser(t.base).get("/apps/growth-chart/launch?iss=" + iss + "&launch=x" + i)
            .statusCode()).isEqualTo(302);
      }
      assertThat(b.get("/apps/growth-chart/").body()).as("launched before the flood").contains("id=\"patient-banner\"");
      SandboxBrowser second = new SandboxBrowser(t.base);
      second.signInToEmr();
      assertThat(second.launchApp("growth-chart").body()).contains("id=\"patient-banner\"");
      HttpResponse<String> r = new SandboxBrowser(t.base).get("/apps/growth-chart/launch?iss=" + iss + "&launch=y");
      assertThat(r.statusCode()).as("full of launched sessions").isEqualTo(503);
      assertThat(r.headers().firstValue("Location")).isEmpty();

      clock.advance(Duration.ofMinutes(31));
      assertThat(b.get("/apps/growth-chart/").body()).as("idle too long").contains("id=\"not-launched\"");
      assertThat(new SandboxBrowser(t.base).get("/apps/growth-chart/launch?iss=" + iss + "&launch=z").statusCode())
          .as("room again").isEqualTo(302);
    }
  }
}
