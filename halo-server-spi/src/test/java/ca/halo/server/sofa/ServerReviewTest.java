package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.security.IntrospectionTokenValidator;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/** The attacker's review of the hardened FHIR server (findings 6-8 and 11-15), as regressions. */
class ServerReviewTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> send(TestSofa sofa, String method, String path, String token,
      String contentType, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sofa.fhirBase() + path))
        .timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void setContext_callerSuppliedSessionTags_neverPlantIntoAnotherSession_review6() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser b1 = new Browser();
      String tremblay = sofa.emrToken(b1, "dr.tremblay", "password");
      String victimApp = sofa.appToken(b1, sofa.setContext(tremblay, "growth-chart"));
      String victimPatient = sofa.patientOf(victimApp);
      String victimSession = sofa.server.authorizationServer().tokenValidator().validate(victimApp)
          .orElseThrow().sessionId().orElseThrow();
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      AllergyIntolerance ai = new AllergyIntolerance();
      ai.getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, victimSession, null));
      ai.setPatient(new Reference("Patient/" + victimPatient));
      ai.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "716186003", "No known allergy")));
      Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      b.addEntry().setFullUrl("urn:uuid:aaaaaaaa-0000-0000-0000-000000000001").setResource(ai)
          .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("AllergyIntolerance");
      Parameters in = new Parameters();
      in.addParameter().setName("resources").setResource(b);
      Parameters out = sofa.fhir(roy).operation().onServer().named("$set-context").withParameters(in)
          .execute();
      String loc = ((Bundle) out.getParameter("resourcesResponse").getResource()).getEntryFirstRep()
          .getResponse().getLocation();
      String planted = loc.substring(loc.indexOf('/') + 1, loc.indexOf("/_history"));
      HttpResponse<String> seen = send(sofa, "GET", "/AllergyIntolerance?patient=" + victimPatient,
          victimApp, null, null);
      assertThat(seen.statusCode()).isEqualTo(200);
      assertThat(seen.body()).doesNotContain(planted);
      assertThat(send(sofa, "GET", "/AllergyIntolerance/" + planted, victimApp, null, null).statusCode())
          .isEqualTo(404);
      // and a session tag with no code is a typed refusal, not a 500
      String raw = "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resources\",\"resource\":"
          + "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"fullUrl\":\"urn:uuid:"
          + "bbbbbbbb-0000-0000-0000-000000000001\",\"resource\":{\"resourceType\":\"Observation\","
          + "\"status\":\"final\",\"code\":{\"text\":\"x\"},\"meta\":{\"tag\":[{\"system\":\""
          + FhirResourceRepository.SESSION_TAG_SYSTEM + "\"}]}},\"request\":{\"method\":\"POST\","
          + "\"url\":\"Observation\"}}]}}]}";
      assertThat(send(sofa, "POST", "/$set-context", roy, "application/fhir+json", raw).statusCode())
          .isEqualTo(200); // the server replaces the caller's session tags with its own
    }
  }

  @Test
  void paging_laterPagesServedOnlyToTheSearcherAndNotAfterClear_review7() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String app = sofa.appToken(browser, launch);
      String patient = sofa.patientOf(app);
      for (int i = 0; i < 12; i++) {
        sofa.fhir(app).create().resource(TestSofa.weight(patient, 10 + i)).execute();
      }
      HttpResponse<String> first = send(sofa, "GET", "/Observation?patient=" + patient + "&_count=5",
          emr, null, null);
      String next = ((Bundle) TestSofa.CTX.newJsonParser().parseResource(first.body())).getLink("next")
          .getUrl();
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      HttpResponse<String> stolen = HTTP.send(HttpRequest.newBuilder(URI.create(next))
          .header("Authorization", "Bearer " + roy).build(), HttpResponse.BodyHandlers.ofString());
      // pages are searched afresh as whoever asks: another clinician's token finds nothing
      assertThat(stolen.statusCode()).isIn(200, 403, 404, 410);
      assertThat(stolen.body()).doesNotContain("Observation/");
      HttpResponse<String> own = HTTP.send(HttpRequest.newBuilder(URI.create(next))
          .header("Authorization", "Bearer " + emr).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(((Bundle) TestSofa.CTX.newJsonParser().parseResource(own.body())).getEntry()).hasSize(5);
      sofa.clearContext(emr, launch);
      HttpResponse<String> after = HTTP.send(HttpRequest.newBuilder(URI.create(next))
          .header("Authorization", "Bearer " + emr).build(), HttpResponse.BodyHandlers.ofString());
      if (after.statusCode() == 200) {
        assertThat(((Bundle) TestSofa.CTX.newJsonParser().parseResource(after.body())).getEntry()).isEmpty();
      } else {
        assertThat(after.statusCode()).isIn(404, 410);
      }
    }
  }

  @Test
  void introspection_audienceRequired_andAForeignAudienceRefused_review8() throws Exception {
    assertThatThrownBy(() -> IntrospectionTokenValidator.builder(URI.create("https://idp.example/i"),
        "sofa", "secret").build()).isInstanceOf(IllegalStateException.class).hasMessageContaining("audience");
    HttpServer idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    idp.createContext("/introspect", ex -> {
      byte[] b = ("{\"active\":true,\"aud\":\"https://billing.example.ca\",\"client_id\":\"billing\","
          + "\"sub\":\"billing\",\"scope\":\"system/*.rs\",\"exp\":" + (System.currentTimeMillis() / 1000 + 600)
          + "}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    idp.start();
    URI introspect = URI.create("http://127.0.0.1:" + idp.getAddress().getPort() + "/introspect");
    try (TestSofa sofa = new TestSofa(b -> b.externalTokenValidator(IntrospectionTokenValidator
        .builder(introspect, "sofa", "secret").audience("https://sofa.example.ca/fhir").build()))) {
      assertThat(send(sofa, "GET", "/Patient?_id=x", "token-for-billing", null, null).statusCode())
          .isEqualTo(401);
    } finally {
      idp.stop(0);
    }
  }

  @Test
  void signIn_ipv6AddressesCountedByTheirSlash64_review11() throws Exception {
    java.lang.reflect.Method m = Class.forName("ca.halo.server.sofa.internal.OAuthServlet")
        .getDeclaredMethod("addressKey", String.class);
    m.setAccessible(true);
    assertThat(m.invoke(null, "2001:db8:1:2:aaaa::1")).isEqualTo(m.invoke(null, "2001:db8:1:2:bbbb::9"));
    assertThat(m.invoke(null, "2001:db8:1:2::1")).isNotEqualTo(m.invoke(null, "2001:db8:1:3::1"));
    assertThat(m.invoke(null, "192.0.2.7")).isEqualTo("192.0.2.7");
  }

  @Test
  void bodies_lookAlikeMediaTypes_checkedOrRefused_review12() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String app = sofa.appToken(browser, sofa.setContext(emr, "growth-chart"));
      String patient = sofa.patientOf(app);
      StringBuilder deep = new StringBuilder("{\"resourceType\":\"Observation\",\"status\":\"final\","
          + "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/" + patient + "\"},\"extension\":[");
      for (int i = 0; i < 150; i++) {
        deep.append("{\"url\":\"http://x/e\",\"extension\":[");
      }
      deep.append("{\"url\":\"http://x/e\",\"valueString\":\"leaf\"}");
      for (int i = 0; i < 150; i++) {
        deep.append("]}");
      }
      deep.append("]}");
      for (String ct : new String[] {"application/fhir+json", "application/fhir+json; x=xml",
          "application/fhir+json;charset=UTF-8;profile=xml", "application/fhir+xml", "text/plain",
          "application/x-www-form-urlencoded", "application/fhir+json;charset=UTF-16LE"}) {
        HttpResponse<String> r = send(sofa, "POST", "/Observation", app, ct, deep.toString());
        assertThat(r.statusCode()).as(ct + ": " + r.body()).isIn(400, 413, 415);
      }
      HttpResponse<String> form = send(sofa, "POST", "/$set-context", emr,
          "application/x-www-form-urlencoded", "{\"resourceType\":\"Parameters\"}");
      assertThat(form.statusCode()).isEqualTo(415);
      HttpResponse<String> noType = send(sofa, "POST", "/Observation", app, null,
          TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.weight(patient, 1)));
      assertThat(noType.statusCode()).isEqualTo(415);
      assertThat(send(sofa, "POST", "/Observation", app, "application/fhir+json; charset=utf-8",
          TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.weight(patient, 1))).statusCode())
          .isEqualTo(201);
    }
  }

  @Test
  void update_racingClearContext_neverBringsAPurgedResourceBack_review13() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      int survivors = 0;
      for (int round = 0; round < 8; round++) {
        String launch = sofa.setContext(emr, "growth-chart");
        String app = sofa.appToken(browser, launch);
        Observation o = TestSofa.weight(sofa.patientOf(app), 1);
        String id = sofa.fhir(app).create().resource(o).execute().getId().getIdPart();
        o.setId(id);
        String body = TestSofa.CTX.newJsonParser().encodeResourceToString(o);
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          Thread th = new Thread(() -> {
            while (!stop.get()) {
              try {
                if (send(sofa, "PUT", "/Observation/" + id, app, "application/fhir+json", body)
                    .statusCode() == 401) {
                  return;
                }
              } catch (Exception e) {
                return;
              }
            }
          });
          th.start();
          ts.add(th);
        }
        java.util.concurrent.TimeUnit.MILLISECONDS.sleep(100);
        sofa.clearContext(emr, launch);
        java.util.concurrent.TimeUnit.MILLISECONDS.sleep(200);
        stop.set(true);
        for (Thread th : ts) {
          th.join();
        }
        if (sofa.server.repository().read("Observation", id).isPresent()) {
          survivors++;
        }
      }
      assertThat(survivors).isZero();
    }
  }

  @Test
  void search_otherCliniciansDataNeitherFillsTheCapNorShowsInIt_review14() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxSearchResults(5))) {
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      String tremblay = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      for (int i = 0; i < 4; i++) {
        sofa.setContext(tremblay, null); // 4 patients of another clinician
      }
      sofa.setContext(roy, null);
      HttpResponse<String> r = send(sofa, "GET", "/Patient", roy, null, null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(((Bundle) TestSofa.CTX.newJsonParser().parseResource(r.body())).getEntry()).hasSize(1);
      for (int i = 0; i < 4; i++) {
        sofa.setContext(tremblay, null);
      }
      assertThat(send(sofa, "GET", "/Patient", roy, null, null).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void metadata_namesNoVersionOrImplementation_review15() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      HttpResponse<String> m = send(sofa, "GET", "/metadata", null, null, null);
      assertThat(m.statusCode()).isEqualTo(200);
      assertThat(m.body()).doesNotContain("8.8.1").doesNotContain("HAPI");
    }
  }
}
