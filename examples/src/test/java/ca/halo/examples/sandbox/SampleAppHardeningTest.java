package ca.halo.examples.sandbox;

import static ca.halo.examples.sandbox.SandboxBrowser.location;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
}
