package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.SmartConfiguration;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The whole SoFA launch on loopback, every step over real HTTP. */
class SofaLaunchFlowTest {
  private TestSofa sofa;
  private final Browser browser = new Browser();

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa();
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  @Test
  void smartConfiguration_servedAtFhirBase_andValid() throws Exception {
    HttpResponse<String> r = browser.get(URI.create(sofa.fhirBase() + "/.well-known/smart-configuration"));
    assertThat(r.statusCode()).isEqualTo(200);
    SmartConfiguration c = SmartConfiguration.parse(r.body());
    assertThat(c.tokenEndpoint()).isEqualTo(sofa.token());
    assertThat(c.codeChallengeMethodsSupported()).containsExactly("S256");
  }

  @Test
  void capabilityStatement_listsBothOperations() {
    var cs = sofa.fhir(null).capabilities().ofType(org.hl7.fhir.r4.model.CapabilityStatement.class).execute();
    String json = TestSofa.CTX.newJsonParser().encodeResourceToString(cs);
    assertThat(json).contains("set-context").contains("clear-context");
  }

  @Test
  void fullLaunch_setContextAuthorizeTokenRead_thenClearRemovesEverything() throws Exception {
    // SoFA steps 2-3: the EMR signs the clinician in and sets the context
    String emr = sofa.emrToken(browser, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    String launch = TestSofa.launchId(out);
    assertThat(java.util.Base64.getUrlDecoder().decode(launch)).hasSizeGreaterThanOrEqualTo(16);
    Bundle resp = (Bundle) out.getParameter("resourcesResponse").getResource();
    assertThat(resp.getType()).isEqualTo(Bundle.BundleType.TRANSACTIONRESPONSE);
    assertThat(resp.getEntry()).hasSize(6).allSatisfy(e -> {
      assertThat(e.getResponse().getLocation()).matches("[A-Za-z]+/[A-Za-z0-9_-]+/_history/1");
      assertThat(e.getResponse().getEtag()).isEqualTo("W/\"1\"");
      assertThat(e.getResponse().getLastModified()).isNotNull();
    });
    String patientId = resp.getEntry().get(0).getResponse().getLocation().split("/")[1];
    // urn:uuid references inside the Bundle now name the SoFA ids
    String obsId = resp.getEntry().get(3).getResponse().getLocation().split("/")[1];
    Observation storedObs = (Observation) sofa.server.repository().read("Observation", obsId).orElseThrow();
    assertThat(storedObs.getSubject().getReference()).isEqualTo("Patient/" + patientId);
    assertThat(storedObs.getEncounter().getReference()).startsWith("Encounter/");

    // steps 7-8: the app authorizes with launch; the clinician's SSO session signs it in
    Browser.Authz a = browser.authorize(sofa.authorize(), Map.of("client_id", "app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "launch", launch, "scope", "launch openid fhirUser patient/*.rs patient/Observation.c offline_access",
        "nonce", "n-1"), "dr.tremblay", "password");
    Map<String, String> cb = a.callback();
    assertThat(cb).containsEntry("state", a.state).containsKey("code");
    HttpResponse<String> tr = browser.postForm(sofa.token(), Map.of("grant_type", "authorization_code",
        "code", cb.get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "app"), null);
    assertThat(tr.statusCode()).isEqualTo(200);
    assertThat(tr.headers().firstValue("Cache-Control")).contains("no-store");
    JsonNode t = TestSofa.json(tr.body());
    assertThat(t.get("token_type").asText()).isEqualTo("Bearer");
    assertThat(t.get("patient").asText()).isEqualTo(patientId);
    assertThat(t.get("encounter").asText()).isEqualTo(resp.getEntry().get(1).getResponse().getLocation().split("/")[1]);
    assertThat(t.get("need_patient_banner").asBoolean()).isTrue();
    assertThat(t.get("intent").asText()).isEqualTo("reconcile-medications");
    assertThat(t.get("fhirContext").get(0).get("reference").asText()).startsWith("Condition/");
    assertThat(t.get("scope").asText()).contains("patient/*.rs");
    assertThat(t.has("refresh_token")).isTrue();
    SignedJWT id = SignedJWT.parse(t.get("id_token").asText());
    assertThat(id.getJWTClaimsSet().getStringClaim("fhirUser")).isEqualTo(sofa.fhirBase() + "/Practitioner/dr-1");
    assertThat(id.getJWTClaimsSet().getStringClaim("nonce")).isEqualTo("n-1");
    assertThat(id.getJWTClaimsSet().getAudience()).containsExactly("app");

    // step 9: the app reads its context and writes back
    IGenericClient app = sofa.fhir(t.get("access_token").asText());
    Patient p = app.read().resource(Patient.class).withId(patientId).execute();
    assertThat(p.getNameFirstRep().getFamily()).isEqualTo("Tremblay");
    Bundle obs = app.search().forResource(Observation.class)
        .where(Observation.PATIENT.hasId(patientId)).returnBundle(Bundle.class).execute();
    assertThat(obs.getEntry()).hasSize(1);
    Observation wb = new Observation();
    wb.setStatus(Observation.ObservationStatus.FINAL);
    wb.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
    wb.setSubject(new Reference("Patient/" + patientId));
    String wbId = app.create().resource(wb).execute().getId().getIdPart();
    assertThat(sofa.server.repository().read("Observation", wbId).orElseThrow().getMeta().getTag())
        .anyMatch(c -> c.getSystem().equals(FhirResourceRepository.SESSION_TAG_SYSTEM));

    // $clear-context: everything of the session goes, the app's write-back included
    Parameters clearIn = new Parameters();
    clearIn.addParameter().setName("launchID").setValue(new StringType(launch));
    Parameters cleared = sofa.fhir(emr).operation().onServer().named("$clear-context")
        .withParameters(clearIn).execute();
    assertThat(cleared.getParameter("outcome")).isNotNull();
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isZero();
    assertThat(sofa.server.contexts().size()).isZero();
    assertThatThrownBy(() -> app.read().resource(Patient.class).withId(patientId).execute())
        .isInstanceOf(AuthenticationException.class);
    // the refresh token of the ended launch is refused
    HttpResponse<String> rr = browser.postForm(sofa.token(), Map.of("grant_type", "refresh_token",
        "refresh_token", t.get("refresh_token").asText(), "client_id", "app"), null);
    assertThat(rr.statusCode()).isEqualTo(400);
    // clearing twice answers 404
    assertThatThrownBy(() -> sofa.fhir(emr).operation().onServer().named("$clear-context")
        .withParameters(clearIn).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException.class);
  }

  @Test
  void sessions_isolated_ownerSeesOwn_othersSeeNothing() throws Exception {
    String emr = sofa.emrToken(browser, "dr.tremblay", "password");
    Parameters a = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    Parameters b = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    String patientA = ((Bundle) a.getParameter("resourcesResponse").getResource()).getEntryFirstRep()
        .getResponse().getLocation().split("/")[1];
    String appOnB = sofa.appToken(new Browser(), TestSofa.launchId(b));
    // the app launched on B cannot read A's patient, even with the right id
    assertThatThrownBy(() -> sofa.fhir(appOnB).read().resource(Patient.class).withId(patientA).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException.class);
    // the PoC that set A reads it; another clinician's PoC token does not
    assertThat(sofa.fhir(emr).read().resource(Patient.class).withId(patientA).execute().getIdElement().getIdPart())
        .isEqualTo(patientA);
    String other = sofa.emrToken(new Browser(), "dr.roy", "password2");
    assertThatThrownBy(() -> sofa.fhir(other).read().resource(Patient.class).withId(patientA).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException.class);
    Bundle searched = sofa.fhir(other).search().forResource(Patient.class).returnBundle(Bundle.class).execute();
    assertThat(searched.getEntry()).isEmpty();
  }

  @Test
  void patientScope_otherPatientInSameSession_refused() throws Exception {
    String emr = sofa.emrToken(browser, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    String app = sofa.appToken(new Browser(), TestSofa.launchId(out));
    String patientId = ((Bundle) out.getParameter("resourcesResponse").getResource()).getEntryFirstRep()
        .getResponse().getLocation().split("/")[1];
    // writing for another patient with patient/ scopes: 403
    assertThatThrownBy(() -> sofa.fhir(app).create().resource(TestSofa.weight("someone-else", 1)).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException.class);
    // deleting is not granted (patient/Observation.cruds was asked but narrowed? no: granted) - Condition delete is not
    String conditionId = ((Bundle) out.getParameter("resourcesResponse").getResource()).getEntry().get(4)
        .getResponse().getLocation().split("/")[1];
    assertThatThrownBy(() -> sofa.fhir(app).delete().resourceById("Condition", conditionId).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException.class);
    // searching another patient's compartment: 403
    assertThatThrownBy(() -> sofa.fhir(app).search().forResource(Observation.class)
            .where(Observation.PATIENT.hasId("someone-else")).returnBundle(Bundle.class).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException.class);
    assertThat(sofa.fhir(app).search().forResource(Observation.class).returnBundle(Bundle.class).execute()
        .getEntry()).hasSize(1);
    assertThat(patientId).isNotBlank();
  }
}
