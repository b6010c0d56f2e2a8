package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.function.Consumer;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Claim;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every refusal of $set-context: right status, an OperationOutcome naming the parameter or entry,
 * and nothing left behind (no resource, no context).
 */
class SetContextBadInputTest {
  private static TestSofa sofa;
  private static String emr;
  private static final Browser BROWSER = new Browser();

  @BeforeAll
  static void start() throws Exception {
    sofa = new TestSofa(b -> b.maxBodyBytes(64 * 1024));
    emr = sofa.emrToken(BROWSER, "dr.tremblay", "password");
  }

  @AfterAll
  static void stop() {
    sofa.close();
  }

  private static Parameters base() {
    return TestSofa.sixResourceContext("growth-chart");
  }

  private static Bundle bundle(Parameters p) {
    return (Bundle) p.getParameter("resources").getResource();
  }

  /** Sends the request and checks status, the OperationOutcome's expression, and no residue. */
  private static void refused(Parameters in, int status, String expression) {
    refused(in, status, expression, emr);
  }

  private static void refused(Parameters in, int status, String expression, String token) {
    BaseServerResponseException e = null;
    try {
      sofa.fhir(token).operation().onServer().named("$set-context").withParameters(in).execute();
    } catch (BaseServerResponseException ex) {
      e = ex;
    }
    assertThat(e).as("expected HTTP " + status).isNotNull();
    assertThat(e.getStatusCode()).isEqualTo(status);
    OperationOutcome oo = (OperationOutcome) e.getOperationOutcome();
    assertThat(oo).isNotNull();
    if (expression != null) {
      assertThat(oo.getIssueFirstRep().getExpression()).extracting(StringType::getValue)
          .anyMatch(x -> x.contains(expression));
    }
    assertNothingStored();
  }

  private static void assertNothingStored() {
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isZero();
    assertThat(sofa.server.contexts().size()).isZero();
  }

  private static Parameters with(Consumer<Parameters> change) {
    Parameters p = base();
    change.accept(p);
    return p;
  }

  @Test
  void unknownParameter_400() {
    refused(with(p -> p.addParameter().setName("patientt").setValue(new StringType("x"))), 400, "patientt");
  }

  @Test
  void repeatedSingleParameter_400() {
    refused(with(p -> p.addParameter().setName("intent").setValue(new StringType("again"))), 400, "intent");
  }

  @Test
  void wrongValueType_400() {
    refused(with(p -> p.getParameter("patient").setValue(new StringType("Patient/1"))), 400, "patient");
    refused(with(p -> p.getParameter("need_patient_banner").setValue(new StringType("yes"))), 400,
        "need_patient_banner");
  }

  @Test
  void resourcesNotTransaction_400() {
    refused(with(p -> bundle(p).setType(Bundle.BundleType.COLLECTION)), 400, "resources.type");
  }

  @Test
  void entryWithoutFullUrl_400() {
    refused(with(p -> bundle(p).getEntry().get(3).setFullUrl(null)), 400, "resources.entry[3].fullUrl");
  }

  @Test
  void methodOtherThanPost_400() {
    refused(with(p -> bundle(p).getEntry().get(2).getRequest().setMethod(Bundle.HTTPVerb.PUT)), 400,
        "resources.entry[2].request.method");
  }

  @Test
  void typeOutsideAllowList_400() {
    refused(with(p -> {
      Claim c = new Claim();
      bundle(p).addEntry().setFullUrl("urn:uuid:77777777-7777-7777-7777-777777777777").setResource(c)
          .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Claim");
    }), 400, "resources.entry[6].resource");
  }

  @Test
  void danglingReferenceParameter_400() {
    refused(with(p -> p.getParameter("patient").setValue(new Reference("urn:uuid:00000000-0000-0000-0000-000000000000"))),
        400, "patient");
  }

  @Test
  void danglingReferenceInsideBundleMiddleEntry_400AndNothingRemains() {
    refused(with(p -> ((Observation) bundle(p).getEntry().get(3).getResource())
        .setSubject(new Reference("urn:uuid:99999999-9999-9999-9999-999999999999"))), 400,
        "entry[3]");
  }

  @Test
  void patientPointingAtNonPatient_400() {
    refused(with(p -> p.getParameter("patient").setValue(new Reference("urn:uuid:33333333-3333-3333-3333-333333333333"))),
        400, "patient");
  }

  @Test
  void existingReferenceUnknown_404() {
    refused(with(p -> p.getParameter("encounter").setValue(new Reference("Encounter/does-not-exist"))),
        404, "encounter");
  }

  @Test
  void constraintViolationInMiddleEntry_422AndNothingRemains() {
    refused(with(p -> ((Observation) bundle(p).getEntry().get(3).getResource()).setStatus(null)), 422,
        "resources.entry[3]");
  }

  @Test
  void underScopedToken_403() throws Exception {
    // a token the app got at launch: no Context.write
    Browser b = new Browser();
    String emrToken = sofa.emrToken(b, "dr.tremblay", "password");
    Parameters ok = sofa.fhir(emrToken).operation().onServer().named("$set-context")
        .withParameters(base()).execute();
    Browser.Authz a = b.authorize(sofa.authorize(), java.util.Map.of("client_id", "app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "launch", TestSofa.launchId(ok), "scope", "launch patient/*.rs"), "dr.tremblay", "password");
    HttpResponse<String> t = b.postForm(sofa.token(), java.util.Map.of("grant_type", "authorization_code",
        "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "app"), null);
    String appToken = TestSofa.json(t.body()).get("access_token").asText();
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(new StringType(TestSofa.launchId(ok)));
    sofa.fhir(emrToken).operation().onServer().named("$clear-context").withParameters(clear).execute();
    assertNothingStored();
    refused(base(), 401, null, appToken); // its launch ended: the token is dead
  }

  @Test
  void missingOrInactiveToken_401WithWwwAuthenticate() throws Exception {
    HttpResponse<String> r = raw("{\"resourceType\":\"Parameters\"}", null);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    assertThat(r.body()).contains("OperationOutcome");
    refused(base(), 401, null, "not-a-token");
    assertNothingStored();
  }

  @Test
  void malformedJson_400() throws Exception {
    HttpResponse<String> r = raw("{\"resourceType\":\"Parameters\", \"parameter\": [", emr);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("OperationOutcome");
    assertNothingStored();
  }

  @Test
  void notParameters_400() throws Exception {
    HttpResponse<String> r = raw("{\"resourceType\":\"Patient\"}", emr);
    assertThat(r.statusCode()).isEqualTo(400);
    assertNothingStored();
  }

  @Test
  void bodyOverLimit_413() throws Exception {
    String big = "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"intent\",\"valueString\":\""
        + "x".repeat(70 * 1024) + "\"}]}";
    HttpResponse<String> r = raw(big, emr);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.body()).contains("OperationOutcome");
    assertNothingStored();
  }

  private static HttpResponse<String> raw(String body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sofa.fhirBase() + "/$set-context"))
        .header("Content-Type", "application/fhir+json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return BROWSER.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
