package ca.halo.sofa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import java.net.URI;
import java.util.Map;
import org.hl7.fhir.r4.model.Claim;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SofaClient against the real halo-server-spi SoFA on loopback. */
class SofaClientTest {
  private static TestSofa sofa;
  private static SmartAppClient emrLogin;
  private static AccessTokenProvider clinician;

  @BeforeAll
  static void start() throws Exception {
    sofa = new TestSofa(b -> b.maxBodyBytes(32 * 1024));
    emrLogin = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.clientSecretBasic("emr", TestSofa.EMR_SECRET))
        .redirectUri(TestSofa.EMR_REDIRECT).build();
    clinician = login(new Browser(), "openid fhirUser user/Context.write user/*.rs");
  }

  static AccessTokenProvider login(Browser b, String scopes) throws Exception {
    AuthorizationRedirect r = emrLogin.beginStandaloneLaunch(sofa.fhirBase(), SmartScopes.parse(scopes));
    URI back = Browser.location(b.signIn(r.uri(), "dr.tremblay", "password"));
    TokenSet t = emrLogin.completeAuthorization(r.pending(), back);
    return emrLogin.tokenProvider(sofa.fhirBase(), t);
  }

  @AfterAll
  static void stop() {
    emrLogin.close();
    sofa.close();
  }

  private SofaClient client;

  @BeforeEach
  void client() {
    client = SofaClient.builder().fhirBase(sofa.fhirBase()).tokens(clinician).build();
  }

  private static Patient patient() {
    Patient p = new Patient();
    p.setId("pat-123");
    p.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-123");
    p.addName().setFamily("Gagnon").addGiven("Émile");
    return p;
  }

  private static Encounter encounter() {
    Encounter e = new Encounter();
    e.setId("enc-9");
    e.setStatus(Encounter.EncounterStatus.INPROGRESS);
    e.setClass_(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", null));
    e.setSubject(new Reference("Patient/pat-123"));
    return e;
  }

  private static Observation observation() {
    Observation o = new Observation();
    o.setId("obs-1");
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setCode(new CodeableConcept(new Coding("http://loinc.org", "8302-2", "Body height")));
    o.setSubject(new Reference("Patient/pat-123"));
    o.setEncounter(new Reference("Encounter/enc-9"));
    return o;
  }

  @Test
  void setLaunchClear_idMapMatchesWhatTheSofaStored() throws Exception {
    Patient p = patient();
    Practitioner dr = new Practitioner();
    dr.setId("dr-1");
    dr.addName().setFamily("Tremblay");
    Observation o = observation();
    Observation noId = observation();
    noId.setIdElement(null);
    SetContextResult r = client.setContext(SetContextRequest.builder()
        .appId("growth-chart").patient(p).encounter(encounter()).fhirUser(dr)
        .addResource(o).addResource(noId).needPatientBanner(true).intent("review").build());

    assertThat(r.idMap()).containsKeys("Patient/pat-123", "Encounter/enc-9", "Practitioner/dr-1",
        "Observation/obs-1", "Observation#4");
    SofaResourceId pid = r.sofaId(p).orElseThrow();
    assertThat(pid.type()).isEqualTo("Patient");
    assertThat(pid.version()).contains("1");
    InMemoryFhirRepository repo = (InMemoryFhirRepository) sofa.server.repository();
    Patient stored = (Patient) repo.read("Patient", pid.id()).orElseThrow();
    assertThat(stored.getIdentifierFirstRep().getValue()).isEqualTo("MRN-123");
    Encounter enc = (Encounter) repo.read("Encounter", r.idMap().get("Encounter/enc-9").id()).orElseThrow();
    assertThat(enc.getSubject().getReference()).isEqualTo(pid.reference());
    Observation obs = (Observation) repo.read("Observation", r.idMap().get("Observation/obs-1").id()).orElseThrow();
    assertThat(obs.getEncounter().getReference()).isEqualTo(r.idMap().get("Encounter/enc-9").reference());
    assertThat(r.localKeyOf(r.idMap().get("Observation/obs-1").reference())).contains("Observation/obs-1");
    assertThat(r.toString()).doesNotContain(r.launchId());

    URI launchUrl = client.launchUrl(URI.create("http://localhost:9/app/launch?x=1"), r.launchId());
    Map<String, String> q = Browser.query(launchUrl);
    assertThat(q).containsEntry("iss", sofa.fhirBase().toString()).containsEntry("launch", r.launchId())
        .containsEntry("x", "1");

    // the app launches with that URL and receives the SoFA ids in its token response
    try (SmartAppClient app = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.publicClient("app"))
        .redirectUri(TestSofa.APP_REDIRECT).build()) {
      Browser b = new Browser();
      AuthorizationRedirect ar = app.beginEhrLaunch(URI.create(q.get("iss")), q.get("launch"),
          SmartScopes.parse("launch openid fhirUser patient/*.rs"));
      TokenSet t = app.completeAuthorization(ar.pending(),
          Browser.location(b.signIn(ar.uri(), "dr.tremblay", "password")));
      assertThat(t.launchContext().patient()).contains(pid.id());
      assertThat(t.launchContext().needPatientBanner()).contains(true);
      assertThat(t.fhirUser()).contains(sofa.fhirBase() + "/Practitioner/dr-1");
    }

    ClearContextResult c = client.clearContext(r.launchId());
    assertThat(c.cleared()).isTrue();
    assertThat(c.summary()).contains("5 resource(s) deleted");
    assertThat(repo.size()).isZero();
    assertThatThrownBy(() -> client.clearContext(r.launchId())).isInstanceOf(SofaResponseException.NotFound.class);
    ClearContextResult quiet = client.clearContextQuietly(r.launchId());
    assertThat(quiet.cleared()).isFalse();
  }

  @Test
  void setContext_existingReferenceUnknown_notFoundNamingParameter() {
    assertThatThrownBy(() -> client.setContext(SetContextRequest.builder()
            .patientReference("Patient/nope").build()))
        .isInstanceOfSatisfying(SofaResponseException.NotFound.class, e -> {
          assertThat(e.location()).isEqualTo("patient");
          assertThat(e.httpStatus()).isEqualTo(404);
          assertThat(e.operationOutcome()).isPresent();
        });
  }

  @Test
  void setContext_typeNotAccepted_failsLocallyBeforeSending() {
    int before = ((InMemoryFhirRepository) sofa.server.repository()).size();
    assertThatThrownBy(() -> client.setContext(SetContextRequest.builder().patient(patient())
            .addResource(new Claim()).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Claim");
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isEqualTo(before);
  }

  @Test
  void setContext_duplicateLocalIds_failsLocally() {
    assertThatThrownBy(() -> client.setContext(SetContextRequest.builder().patient(patient())
            .addResource(patient()).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Patient/pat-123");
  }

  @Test
  void builder_patientSlotWithWrongType_failsInBuild() {
    assertThatThrownBy(() -> SetContextRequest.builder().patient(encounter()).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("Patient");
    assertThatThrownBy(() -> SetContextRequest.builder().patientReference("not a ref"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void setContext_profileViolation_invalidContextWithEntry() {
    Observation bad = observation();
    bad.setStatus(null);
    assertThatThrownBy(() -> client.setContext(SetContextRequest.builder().patient(patient())
            .addResource(bad).build()))
        .isInstanceOfSatisfying(SofaResponseException.InvalidContext.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(422);
          assertThat(e.location()).isEqualTo("resources.entry[1].resource");
          assertThat(e.getMessage()).contains("Observation.status");
        });
  }

  @Test
  void setContext_tooLarge_tooLarge() {
    Patient p = patient();
    p.addName().setText("x".repeat(40 * 1024));
    assertThatThrownBy(() -> client.setContext(SetContextRequest.builder().patient(p).build()))
        .isInstanceOf(SofaResponseException.TooLarge.class);
  }

  @Test
  void setContext_badToken_unauthenticated() {
    try (SofaClient bad = SofaClient.builder().fhirBase(sofa.fhirBase())
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("forged"))).build()) {
      assertThatThrownBy(() -> bad.setContext(SetContextRequest.builder().patient(patient()).build()))
          .isInstanceOf(SofaResponseException.Unauthenticated.class).hasMessageContaining("Sign the clinician in");
    }
  }

  @Test
  void setContext_tokenWithoutContextWrite_forbidden() throws Exception {
    AccessTokenProvider readOnly = login(new Browser(), "openid user/*.rs");
    try (SofaClient c = SofaClient.builder().fhirBase(sofa.fhirBase()).tokens(readOnly).build()) {
      assertThatThrownBy(() -> c.setContext(SetContextRequest.builder().patient(patient()).build()))
          .isInstanceOf(SofaResponseException.Forbidden.class).hasMessageContaining("Context.write");
    }
  }

  @Test
  void setContext_inMemoryLinkBetweenUploads_pointsAtTheStoredResource() {
    Patient p = patient();
    Encounter e = encounter();
    e.setSubject(new Reference(p)); // the object only, no reference text
    SetContextResult r = client.setContext(SetContextRequest.builder().patient(p).encounter(e).build());
    InMemoryFhirRepository repo = (InMemoryFhirRepository) sofa.server.repository();
    Encounter stored = (Encounter) repo.read("Encounter", r.sofaId(e).orElseThrow().id()).orElseThrow();
    assertThat(stored.getSubject().getReference()).isEqualTo(r.sofaId(p).orElseThrow().reference());
    assertThat(e.getSubject().getResource()).as("the caller's resource is untouched").isSameAs(p);
    client.clearContext(r.launchId());
  }

  @Test
  void setContext_linkToAnObjectNotUploaded_isWrittenByHapi_whichContainsIt() {
    Observation o = observation();
    Practitioner performer = new Practitioner();
    performer.addName().setFamily("Roy"); // no id: HAPI contains it
    o.addPerformer(new Reference(performer));
    SetContextResult r = client.setContext(SetContextRequest.builder().patient(patient())
        .encounter(encounter()).addResource(o).build());
    InMemoryFhirRepository repo = (InMemoryFhirRepository) sofa.server.repository();
    Observation stored = (Observation) repo.read("Observation", r.sofaId(o).orElseThrow().id())
        .orElseThrow();
    assertThat(stored.getContained()).hasSize(1);
    assertThat(stored.getPerformerFirstRep().getReference()).startsWith("#");
    // HAPI's encoder gave the contained target an id: on the client's copy, not the caller's
    assertThat(performer.getIdPart()).isNull();
    client.clearContext(r.launchId());
  }

  /**
   * Shapes HAPI writes its own way go through HAPI and are stored (the attacker's review: an Age
   * in Observation.value[x] went out as valueAge, which the SoFA refuses, and a contained
   * resource without an id went out without one).
   */
  @Test
  void setContext_shapesLeftToHapi_storedAsBefore() {
    Observation o = observation();
    o.setValue(new org.hl7.fhir.r4.model.Age().setValue(42).setUnit("a"));
    o.addContained(new Practitioner().setActive(true));
    SetContextResult r = client.setContext(SetContextRequest.builder().patient(patient())
        .encounter(encounter()).addResource(o).build());
    InMemoryFhirRepository repo = (InMemoryFhirRepository) sofa.server.repository();
    Observation stored = (Observation) repo.read("Observation", r.sofaId(o).orElseThrow().id())
        .orElseThrow();
    assertThat(stored.getValueQuantity().getValue()).isEqualByComparingTo("42");
    assertThat(stored.getContained()).hasSize(1);
    client.clearContext(r.launchId());
  }

  /** What a proxy or a server that is not the SoFA may answer: each a typed error, or read. */
  @Test
  void oddAnswers_typedErrorsOrReadByHapi() throws Exception {
    java.util.concurrent.atomic.AtomicReference<Object[]> next = new java.util.concurrent.atomic.AtomicReference<>();
    com.sun.net.httpserver.HttpServer s = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", x -> {
      x.getRequestBody().readAllBytes();
      Object[] a = next.get();
      byte[] body = ((String) a[2]).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      x.getResponseHeaders().add("Content-Type", (String) a[1]);
      x.sendResponseHeaders((Integer) a[0], body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    s.start();
    URI base = URI.create("http://127.0.0.1:" + s.getAddress().getPort() + "/fhir");
    SetContextRequest req = SetContextRequest.builder().patientReference("Patient/p1").build();
    try (SofaClient c = SofaClient.builder().fhirBase(base)
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build()) {
      next.set(new Object[] {502, "text/html", "<html>Bad gateway: Gagnon, Emile</html>"});
      assertThatThrownBy(() -> c.setContext(req))
          .isInstanceOfSatisfying(SofaResponseException.Unavailable.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(502);
            assertThat(e.operationOutcome()).isEmpty();
          })
          .hasMessageContaining("HTTP 502").hasMessageNotContaining("Gagnon");

      next.set(new Object[] {200, "application/fhir+json", "not json"});
      assertThatThrownBy(() -> c.setContext(req)).isInstanceOf(ca.halo.core.HaloParseException.class);

      // read as HAPI's generic client reads an operation's answer: another resource is wrapped,
      // no body is an empty Parameters; neither has a launchID
      next.set(new Object[] {200, "application/fhir+json", "{\"resourceType\":\"OperationOutcome\"}"});
      assertThatThrownBy(() -> c.setContext(req)).isInstanceOf(ca.halo.core.HaloParseException.class)
          .hasMessageContaining("no launchID");
      next.set(new Object[] {200, "application/fhir+json", ""});
      assertThatThrownBy(() -> c.setContext(req)).isInstanceOf(ca.halo.core.HaloParseException.class)
          .hasMessageContaining("no launchID");
      next.set(new Object[] {200, "application/fhir+xml", "<Parameters xmlns=\"http://hl7.org/fhir\">"
          + "<parameter><name value=\"launchID\"/><valueString value=\"L-x\"/></parameter></Parameters>"});
      assertThat(c.setContext(req).launchId()).isEqualTo("L-x");
      next.set(new Object[] {422, "application/fhir+xml", "<OperationOutcome xmlns=\"http://hl7.org/fhir\">"
          + "<issue><severity value=\"error\"/><code value=\"invalid\"/><diagnostics value=\"bad patient\"/>"
          + "<expression value=\"patient\"/></issue></OperationOutcome>"});
      assertThatThrownBy(() -> c.setContext(req))
          .isInstanceOfSatisfying(SofaResponseException.InvalidContext.class,
              e -> assertThat(e.location()).isEqualTo("patient"))
          .hasMessageContaining("bad patient");

      // valid, but not the usual shape (an id, a meta): HAPI reads it
      next.set(new Object[] {200, "application/fhir+json", "{\"resourceType\":\"Parameters\",\"id\":\"x\","
          + "\"meta\":{\"versionId\":\"1\"},\"parameter\":[{\"name\":\"launchID\",\"valueString\":\"L-1\"}]}"});
      assertThat(c.setContext(req).launchId()).isEqualTo("L-1");
    } finally {
      s.stop(0);
    }
    try (SofaClient gone = SofaClient.builder().fhirBase(base)
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build()) {
      assertThatThrownBy(() -> gone.setContext(req)).isInstanceOf(ca.halo.core.HaloTransportException.class);
    }
  }

  @Test
  void builder_missingTokens_failsInBuild() {
    assertThatThrownBy(() -> SofaClient.builder().fhirBase(sofa.fhirBase()).build())
        .isInstanceOf(IllegalStateException.class);
  }
}
