package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.fhir.InMemoryFhirRepository;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;

/** Items 10 to 15 of the hardening issue, over real HTTP on loopback. */
class FhirServerHardeningTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> send(TestSofa sofa, String method, String path, String token,
      String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sofa.fhirBase() + path))
        .timeout(java.time.Duration.ofSeconds(30))
        .header("Content-Type", "application/fhir+json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends only the request head of a large POST and reads whatever comes back first. */
  private static String headOnly(TestSofa sofa, String path, String authorization) throws Exception {
    URI u = sofa.fhirBase();
    try (Socket s = new Socket(u.getHost(), u.getPort())) {
      s.setSoTimeout(3000);
      OutputStream out = s.getOutputStream();
      out.write(("POST " + u.getPath() + path + " HTTP/1.1\r\nHost: " + u.getHost() + "\r\n"
          + "Content-Type: application/fhir+json\r\nContent-Length: 5000000\r\n"
          + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
          + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[512];
      int n = in.read(buf); // the body never comes: only an answer that did not wait for it arrives
      return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void unauthenticatedBody_answered401BeforeItIsRead_item10() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      for (String path : new String[] {"/Observation", "/$set-context", "/Subscription"}) {
        assertThat(headOnly(sofa, path, null)).startsWith("HTTP/1.1 401");
        assertThat(headOnly(sofa, path, "Bearer not-a-token")).startsWith("HTTP/1.1 401");
      }
    }
  }

  @Test
  void bodies_tooManyElementsOrTooDeep_413BeforeParsing_item10() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxElements(50_000))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      StringBuilder many = new StringBuilder("{\"resourceType\":\"Observation\",\"status\":\"final\","
          + "\"code\":{\"text\":\"x\"},\"extension\":[");
      for (int i = 0; i < 20_000; i++) {
        many.append(i == 0 ? "" : ",").append("{\"url\":\"urn:x\",\"valueString\":\"v\"}");
      }
      many.append("]}");
      HttpResponse<String> r = send(sofa, "POST", "/Observation", emr, many.toString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
      assertThat(r.body()).contains("OperationOutcome").contains("50000 elements");
      String deep = "{\"resourceType\":\"Parameters\",\"parameter\":[" + "[".repeat(500)
          + "]".repeat(500) + "]}";
      HttpResponse<String> d = send(sofa, "POST", "/$set-context", emr, deep);
      assertThat(d.statusCode()).as(d.body()).isEqualTo(413);
      assertThat(d.body()).contains("nested deeper");
      String xml = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaa\">]>"
          + "<Parameters xmlns=\"http://hl7.org/fhir\"><parameter><name value=\"&a;\"/></parameter></Parameters>";
      HttpResponse<String> x = HTTP.send(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/$set-context"))
          .header("Content-Type", "application/fhir+xml").header("Authorization", "Bearer " + emr)
          .POST(HttpRequest.BodyPublishers.ofString(xml)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(x.statusCode()).isEqualTo(400);
      assertThat(sofa.server.contexts().size()).isZero();
    }
  }

  @Test
  void bodies_numbersHapiWouldExpandDigitByDigit_400BeforeParsing_item10() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      for (String n : new String[] {"1E+50000000", "1e2147483647", "-7.5E-99999", "1" + "0".repeat(200)}) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = send(sofa, "POST", "/$set-context", emr,
            "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"intent\",\"valueDecimal\":"
                + n + "}]}");
        assertThat(r.statusCode()).as(n + ": " + r.body()).isEqualTo(400);
        assertThat(r.body()).contains("exponent");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0)).isLessThan(java.time.Duration.ofSeconds(5));
      }
      String xml = "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/><code><text value=\"x\"/>"
          + "</code><valueQuantity><value value=\"1E+50000000\"/></valueQuantity></Observation>";
      HttpResponse<String> x = HTTP.send(HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/Observation"))
          .header("Content-Type", "application/fhir+xml").header("Authorization", "Bearer " + emr)
          .POST(HttpRequest.BodyPublishers.ofString(xml)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(x.statusCode()).as(x.body()).isEqualTo(400);
      assertThat(sofa.server.contexts().size()).isZero();
    }
  }

  @Test
  void bodies_halfASurrogatePairEscaped_400AndNothingStored_wholePairsAccepted() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String app = sofa.appToken(browser, launch);
      String patient = sofa.patientOf(app);
      InMemoryFhirRepository repo = (InMemoryFhirRepository) sofa.server.repository();
      int before = repo.size();
      String obs = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"%s\"},"
          + "\"subject\":{\"reference\":\"Patient/" + patient + "\"}}";
      // text that is not Unicode would reach readers as invalid UTF-8: refused before parsing
      for (String bad : new String[] {"a\\ud800b", "\\uDBFF", "x\\udc00", "\\ude00\\ud83d"}) {
        HttpResponse<String> r = send(sofa, "POST", "/Observation", app, String.format(obs, bad));
        assertThat(r.statusCode()).as(bad + ": " + r.body()).isEqualTo(400);
        assertThat(r.body()).contains("surrogate");
      }
      HttpResponse<String> ctx = send(sofa, "POST", "/$set-context", emr,
          "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"intent\",\"valueString\":"
              + "\"\\ud800\"}]}");
      assertThat(ctx.statusCode()).as(ctx.body()).isEqualTo(400);
      assertThat(repo.size()).isEqualTo(before);
      assertThat(sofa.server.contexts().size()).isEqualTo(1);
      // a whole pair (an emoji) and an escaped backslash before "ud800" are text: accepted
      for (String ok : new String[] {"\\ud83d\\ude00", "\\\\ud800"}) {
        HttpResponse<String> r = send(sofa, "POST", "/Observation", app, String.format(obs, ok));
        assertThat(r.statusCode()).as(ok + ": " + r.body()).isEqualTo(201);
      }
      assertThat(repo.size()).isEqualTo(before + 2);
    }
  }

  @Test
  void appWrites_overTheLaunchBudget_413AndNothingStored_item11() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxSessionWrites(64 * 1024, 3))) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String app = sofa.appToken(browser, launch);
      String patient = sofa.patientOf(app);
      int before = ((InMemoryFhirRepository) sofa.server.repository()).size();
      Observation big = TestSofa.weight(patient, 1);
      big.getCode().setText("x".repeat(70 * 1024));
      HttpResponse<String> r = send(sofa, "POST", "/Observation", app,
          TestSofa.CTX.newJsonParser().encodeResourceToString(big));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
      assertThat(r.body()).contains("write budget");
      for (int i = 0; i < 3; i++) {
        sofa.fhir(app).create().resource(TestSofa.weight(patient, 10 + i)).execute();
      }
      HttpResponse<String> fourth = send(sofa, "POST", "/Observation", app,
          TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.weight(patient, 20)));
      assertThat(fourth.statusCode()).isEqualTo(413);
      assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isEqualTo(before + 3);
    }
  }

  @Test
  void contexts_perCallerBound_429UntilOneIsCleared_item11() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxContextsPerOwner(3))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      String first = sofa.setContext(emr, null);
      sofa.setContext(emr, null);
      sofa.setContext(emr, null);
      HttpResponse<String> r = send(sofa, "POST", "/$set-context", emr,
          TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.sixResourceContext(null)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
      assertThat(sofa.server.contexts().size()).isEqualTo(3);
      // another clinician is not held back; clearing frees a place
      String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
      sofa.setContext(roy, null);
      sofa.clearContext(emr, first);
      sofa.setContext(emr, null);
    }
  }

  @Test
  void search_matchingMoreThanTheBound_422InsteadOfLoadingAll_item11() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxSearchResults(5))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      for (int i = 0; i < 5; i++) {
        sofa.setContext(emr, null);
      }
      assertThat(sofa.fhir(emr).search().byUrl("Patient").returnBundle(Bundle.class).execute()
          .getEntry()).hasSize(5);
      sofa.setContext(emr, null);
      HttpResponse<String> r = send(sofa, "GET", "/Patient", emr, null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
      assertThat(r.body()).contains("more than 5");
    }
  }

  @Test
  void repository_boundedInBytesAndVersions_item11() {
    InMemoryFhirRepository repo = new InMemoryFhirRepository(TestSofa.CTX,
        java.time.Clock.systemUTC(), 1_000, 200_000, 3);
    Observation o = TestSofa.weight("p1", 1);
    Observation stored = (Observation) repo.create(o);
    String id = stored.getIdElement().getIdPart();
    for (int i = 0; i < 10; i++) {
      o.setId(id);
      o.getValueQuantity().setValue(i);
      repo.update(o);
    }
    assertThat(repo.vread("Observation", id, "11")).isPresent();
    assertThat(repo.vread("Observation", id, "9")).isPresent();
    assertThat(repo.vread("Observation", id, "8")).as("only the last 3 versions are kept").isEmpty();
    Observation huge = TestSofa.weight("p1", 2);
    huge.getCode().setText("y".repeat(250_000));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> repo.create(huge))
        .isInstanceOf(ca.halo.server.fhir.FhirRepositoryException.class)
        .hasMessageContaining("bytes");
    assertThat(repo.size()).isEqualTo(1);
  }

  @Test
  void setContext_overMaxEntries_413AndNothingStored_item12() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.maxEntries(10))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      Parameters in = TestSofa.sixResourceContext(null);
      Bundle b = (Bundle) in.getParameter("resources").getResource();
      for (int i = 0; i < 5; i++) {
        Observation o = TestSofa.weight("x", i);
        o.setSubject(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
        b.addEntry().setFullUrl("urn:uuid:00000000-0000-0000-0000-00000000000" + i).setResource(o)
            .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
      }
      HttpResponse<String> r = send(sofa, "POST", "/$set-context", emr,
          TestSofa.CTX.newJsonParser().encodeResourceToString(in));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
      assertThat(r.body()).contains("11 entries").contains("at most 10");
      assertThat(sofa.server.contexts().size()).isZero();
      assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isZero();
    }
  }

  @Test
  void launchContextStore_recordingAppWrites_neverCopiesTheContext_item12() {
    InMemoryLaunchContextStore store = new InMemoryLaunchContextStore(10);
    Instant now = Instant.now();
    StoredContext c = StoredContext.builder().launchId("l").sessionId("s").ownerClientId("emr")
        .addResource("Patient/1").createdAt(now).expiresAt(now.plusSeconds(60)).build();
    store.create(c);
    for (int i = 0; i < 1000; i++) {
      assertThat(store.addResource("s", "Observation/" + i, now)).isTrue();
    }
    assertThat(store.find("l", now)).containsSame(c);
    StoredContext removed = store.delete("l").orElseThrow();
    assertThat(removed.resources()).hasSize(1001).contains("Patient/1", "Observation/999");
    assertThat(store.addResource("s", "Observation/late", now)).isFalse();
  }

  @Test
  void setContext_tokenWithoutUser_refused403_butAllowedWhenLaunchesAreNotBound_item13() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String backend = sofa.backendToken("system/*.rs system/Context.write");
      HttpResponse<String> r = send(sofa, "POST", "/$set-context", backend,
          TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.sixResourceContext(null)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
      assertThat(r.body()).contains("names no user");
      assertThat(sofa.server.contexts().size()).isZero();
    }
    try (TestSofa sofa = new TestSofa(b -> b.requireSameUser(false))) {
      String backend = sofa.backendToken("system/*.rs system/Context.write");
      assertThat(sofa.setContext(backend, null)).isNotBlank();
    }
  }

  @Test
  void setContext_appIdNotInTheCatalog_422_item13() throws Exception {
    String listing = "[{\"id\":\"growth-chart\",\"name\":\"Growth Chart\",\"status\":\"active\","
        + "\"clientId\":\"app\",\"launchUrl\":\"http://localhost:9/app/launch\","
        + "\"redirectUris\":[\"http://localhost:9/app/callback\"],\"scopes\":[\"launch\"]},"
        + "{\"id\":\"old-app\",\"name\":\"Retired\",\"status\":\"retired\",\"clientId\":\"old\","
        + "\"launchUrl\":\"http://localhost:9/old/launch\",\"redirectUris\":[\"http://localhost:9/old/cb\"],"
        + "\"scopes\":[\"launch\"]}]";
    try (TestSofa sofa = new TestSofa(b -> b.catalog(InMemoryAppCatalogRepository.fromJson(listing)))) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      for (String appId : new String[] {"no-such-app", "old-app"}) {
        HttpResponse<String> r = send(sofa, "POST", "/$set-context", emr,
            TestSofa.CTX.newJsonParser().encodeResourceToString(TestSofa.sixResourceContext(appId)));
        assertThat(r.statusCode()).as(appId + ": " + r.body()).isEqualTo(422);
        assertThat(r.body()).contains("appID");
      }
      assertThat(sofa.server.contexts().size()).isZero();
      assertThat(sofa.setContext(emr, "growth-chart")).isNotBlank();
    }
  }

  @Test
  void search_patientScopes_anotherPatientsId_answeredEmptyNeverTheInContextPatient_item14()
      throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      sofa.setContext(emr, "growth-chart"); // another patient, same server
      String launch = sofa.setContext(emr, "growth-chart");
      String app = sofa.appToken(browser, launch);
      String own = sofa.patientOf(app);
      Bundle other = sofa.fhir(app).search().byUrl("Patient?_id=someone-else").returnBundle(Bundle.class)
          .execute();
      assertThat(other.getEntry()).isEmpty();
      Bundle mine = sofa.fhir(app).search().byUrl("Patient?_id=" + own).returnBundle(Bundle.class).execute();
      assertThat(mine.getEntry()).hasSize(1);
      Bundle all = sofa.fhir(app).search().byUrl("Patient").returnBundle(Bundle.class).execute();
      assertThat(all.getEntry()).hasSize(1);
      assertThat(all.getEntryFirstRep().getResource().getIdElement().getIdPart()).isEqualTo(own);
    }
  }

  @Test
  void search_unsupportedParametersModifiersOrLists_400_item14() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String app = sofa.appToken(browser, launch);
      for (String q : new String[] {"Patient?_has:Observation:patient:code=1234",
          "Observation?_include=Observation:subject", "Observation?_sort=date", "Observation?code=x",
          "Observation?identifier:not=x", "Observation?_id=a,b", "Observation?patient=a&patient=b",
          "Observation?subject.name=x", "Observation?_revinclude=Provenance:target",
          "Observation?_lastUpdated:missing=true"}) {
        HttpResponse<String> r = send(sofa, "GET", "/" + q, app, null);
        assertThat(r.statusCode()).as(q + ": " + r.body()).isEqualTo(400);
        assertThat(r.body()).contains("OperationOutcome");
      }
      // what is supported still answers, _count included (with a next link)
      String patient = sofa.patientOf(app);
      for (int i = 0; i < 3; i++) {
        sofa.fhir(app).create().resource(TestSofa.weight(patient, i)).execute();
      }
      Bundle page = sofa.fhir(app).search().byUrl("Observation?patient=" + patient + "&_count=2")
          .returnBundle(Bundle.class).execute();
      assertThat(page.getEntry()).hasSize(2);
      assertThat(page.getLink("next")).isNotNull();
    }
  }

  @Test
  void refusals_unauthenticatedOrForbidden_loggedWithoutErrorOrTrace_item15() throws Exception {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String app = sofa.appToken(browser, sofa.setContext(emr, "growth-chart"));
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      for (int i = 0; i < 10; i++) {
        assertThat(send(sofa, "GET", "/Patient", null, null).statusCode()).isEqualTo(401);
        assertThat(send(sofa, "GET", "/Patient", "garbage." + i + ".token", null).statusCode())
            .isEqualTo(401);
        assertThat(send(sofa, "POST", "/$set-context", app,
            "{\"resourceType\":\"Parameters\"}").statusCode()).isEqualTo(403);
        assertThat(send(sofa, "GET", "/Patient/nope", app, null).statusCode()).isEqualTo(404);
      }
    } finally {
      System.setErr(saved);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log).doesNotContain("ERROR").doesNotContain("\tat ").doesNotContain("Exception");
  }

  @Test
  void bodies_unknownElements_refusedWithoutALogLineEach_item15() throws Exception {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try (TestSofa sofa = new TestSofa()) {
      Browser browser = new Browser();
      String emr = sofa.emrToken(browser, "dr.tremblay", "password");
      String app = sofa.appToken(browser, sofa.setContext(emr, "growth-chart"));
      String patient = sofa.patientOf(app);
      StringBuilder b = new StringBuilder("{\"resourceType\":\"Observation\",\"status\":\"final\","
          + "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/" + patient + "\"}");
      for (int i = 0; i < 2000; i++) {
        b.append(",\"junk").append(i).append("\":").append(i);
      }
      b.append('}');
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      HttpResponse<String> r = send(sofa, "POST", "/Observation", app, b.toString());
      assertThat(r.statusCode()).as(r.body()).isIn(201, 400);
    } finally {
      System.setErr(saved);
    }
    long lines = captured.toString(StandardCharsets.UTF_8).lines().count();
    assertThat(lines).as("log lines for one body of 2,000 unknown elements").isLessThan(10);
  }

  @Test
  void responses_nameNoServerOrVersion_item15() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      HttpResponse<String> meta = send(sofa, "GET", "/metadata", null, null);
      HttpResponse<String> missing = HTTP.send(HttpRequest.newBuilder(
          URI.create(sofa.server.baseUrl() + "/no/such/page")).build(), HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> unauth = send(sofa, "GET", "/Patient", null, null);
      for (HttpResponse<String> r : List.of(meta, missing, unauth)) {
        assertThat(r.headers().firstValue("Server")).isEmpty();
        assertThat(r.headers().firstValue("X-Powered-By")).isEmpty();
        assertThat(r.body().toLowerCase(java.util.Locale.ROOT)).doesNotContain("jetty").doesNotContain("12.1");
      }
      URI u = sofa.server.baseUrl();
      try (Socket s = new Socket(u.getHost(), u.getPort())) {
        s.setSoTimeout(5000);
        s.getOutputStream().write(("GET /fhir/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertThat(answer).startsWith("HTTP/1.1 400");
        assertThat(answer.toLowerCase(java.util.Locale.ROOT)).doesNotContain("jetty");
      }
    }
  }
}
