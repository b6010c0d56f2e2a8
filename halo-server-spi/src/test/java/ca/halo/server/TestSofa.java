package ca.halo.server;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.EndpointPolicy;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.Map;
import java.util.function.Consumer;
import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;

/** A SoFA on loopback with a known EMR client, two apps, a backend client and two users. */
public final class TestSofa implements AutoCloseable {
  public static final String EMR_SECRET = "emr-secret-0123456789";
  public static final URI EMR_REDIRECT = URI.create("http://localhost:9/emr/callback");
  public static final URI APP_REDIRECT = URI.create("http://localhost:9/app/callback");
  public static final FhirContext CTX = FhirContext.forR4Cached();
  static final ObjectMapper JSON = new ObjectMapper();

  /** What the sandbox allows: rest-hooks on loopback, plain http included. */
  public static final EndpointPolicy LOOPBACK_HOOKS = EndpointPolicy.builder()
      .allowLoopback(true).unsafeAllowPlainHttp(true).build();

  public final SofaServer server;
  public final InMemoryClientRegistry clients = new InMemoryClientRegistry();
  public final ECKey backendKey;

  public TestSofa() throws Exception {
    this(b -> { });
  }

  public TestSofa(Consumer<SofaServer.Builder> customize) throws Exception {
    backendKey = new ECKeyGenerator(Curve.P_384).keyID("backend-1").algorithm(JWSAlgorithm.ES384)
        .generate();
    clients.register(RegisteredClient.builder("emr").name("Test EMR")
        .type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret(EMR_SECRET)
        .redirectUri(EMR_REDIRECT)
        .allowedScopes(SmartScopes.parse("openid fhirUser user/Context.write user/*.rs offline_access"))
        .build());
    clients.register(RegisteredClient.builder("app").name("Growth Chart").appId("growth-chart")
        .redirectUri(APP_REDIRECT)
        .allowedScopes(SmartScopes.parse("launch openid fhirUser patient/*.rs patient/Observation.cruds"
            + " offline_access online_access"))
        .build());
    clients.register(RegisteredClient.builder("other-app").appId("other")
        .redirectUri(URI.create("http://localhost:9/other/callback"))
        .allowedScopes(SmartScopes.parse("launch openid patient/*.rs")).build());
    clients.register(RegisteredClient.builder("backend")
        .type(RegisteredClient.Type.CONFIDENTIAL_ASYMMETRIC)
        .jwksJson(new JWKSet(backendKey.toPublicJWK()).toString())
        .allowedScopes(SmartScopes.parse("system/*.rs system/Context.write")).build());
    FormUserAuthenticator users = new FormUserAuthenticator()
        .addUser("dr.tremblay", "password",
            new AuthenticatedUser("dr.tremblay", "Practitioner/dr-1", "Dr. Tremblay"))
        .addUser("dr.roy", "password2", new AuthenticatedUser("dr.roy", "Practitioner/dr-2", "Dr. Roy"));
    // rest-hook receivers of the tests listen on loopback over plain http
    SofaServer.Builder b = SofaServer.builder().clients(clients).users(users).fhirContext(CTX)
        .subscriptionEndpointPolicy(LOOPBACK_HOOKS);
    customize.accept(b);
    server = b.build().start();
  }

  public URI fhirBase() {
    return server.fhirBase();
  }

  public URI authorize() {
    return server.authorizationServer().authorizationEndpoint();
  }

  public URI token() {
    return server.authorizationServer().tokenEndpoint();
  }

  public static String basic(String id, String secret) {
    return "Basic " + Base64.getEncoder().encodeToString((id + ":" + secret).getBytes());
  }

  /** The flows of the tests against this SoFA's public address. */
  public SofaFlows flows() {
    return new SofaFlows(server.baseUrl());
  }

  /** The EMR signs its user in (auth code + PKCE) and gets a token for $set-context. */
  public String emrToken(Browser browser, String user, String password) throws Exception {
    return flows().emrToken(browser, user, password);
  }

  /** The sample app launches with {@code launchId} and gets an access token (patient scopes). */
  public String appToken(Browser browser, String launchId) throws Exception {
    return flows().appToken(browser, launchId);
  }

  /**
   * The backend client's {@code client_credentials} token (private_key_jwt, ES384): a PoC that
   * signs in as itself, no user.
   */
  /** The launch patient of an app token, as this SoFA's own validator reads it. */
  public String patientOf(String appToken) {
    return server.authorizationServer().tokenValidator().validate(appToken).orElseThrow()
        .patient().orElseThrow();
  }

  public String backendToken(String scope) throws Exception {
    com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
        new com.nimbusds.jose.JWSHeader.Builder(JWSAlgorithm.ES384).keyID("backend-1").build(),
        new com.nimbusds.jwt.JWTClaimsSet.Builder().issuer("backend").subject("backend")
            .audience(token().toString()).jwtID(java.util.UUID.randomUUID().toString())
            .expirationTime(java.util.Date.from(java.time.Instant.now().plusSeconds(120))).build());
    jwt.sign(new com.nimbusds.jose.crypto.ECDSASigner(backendKey));
    HttpResponse<String> t = new Browser().postForm(token(), Map.of("grant_type",
        "client_credentials", "scope", scope,
        "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion", jwt.serialize()), null);
    if (t.statusCode() != 200) {
      throw new IllegalStateException("backend token refused: " + t.body());
    }
    return json(t.body()).get("access_token").asText();
  }

  /** {@code $set-context} with the six-resource context; returns the launch id. */
  public String setContext(String token, String appId) {
    return flows().setContext(token, appId);
  }

  /** {@code $clear-context}. */
  public void clearContext(String token, String launchId) {
    flows().clearContext(token, launchId);
  }

  /** A body-weight Observation for {@code patientId}, as an app writes back. */
  public static org.hl7.fhir.r4.model.Observation weight(String patientId, double kg) {
    org.hl7.fhir.r4.model.Observation o = new org.hl7.fhir.r4.model.Observation();
    o.setStatus(org.hl7.fhir.r4.model.Observation.ObservationStatus.FINAL);
    o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
    o.setSubject(new Reference("Patient/" + patientId));
    o.setValue(new org.hl7.fhir.r4.model.Quantity().setValue(kg).setUnit("kg"));
    return o;
  }

  public IGenericClient fhir(String token) {
    return flows().fhir(token);
  }

  public static JsonNode json(String s) throws Exception {
    return JSON.readTree(s);
  }

  /** The 6-resource context of the seed flow: Patient, Encounter, Practitioner, 3 clinical. */
  public static Parameters sixResourceContext(String appId) {
    Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    Patient p = new Patient();
    p.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-1");
    p.addName().setFamily("Tremblay").addGiven("Léa");
    add(b, "urn:uuid:11111111-1111-1111-1111-111111111111", p);
    Encounter e = new Encounter();
    e.setStatus(Encounter.EncounterStatus.INPROGRESS);
    e.setClass_(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"));
    e.setSubject(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
    add(b, "urn:uuid:22222222-2222-2222-2222-222222222222", e);
    Practitioner pr = new Practitioner();
    pr.addName().setFamily("Tremblay").addPrefix("Dr.");
    add(b, "urn:uuid:33333333-3333-3333-3333-333333333333", pr);
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setCode(new CodeableConcept(new Coding("http://loinc.org", "8302-2", "Body height")));
    o.setSubject(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
    o.setEncounter(new Reference("urn:uuid:22222222-2222-2222-2222-222222222222"));
    add(b, "urn:uuid:44444444-4444-4444-4444-444444444444", o);
    Condition c = new Condition();
    c.setSubject(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
    c.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "44054006", "Diabetes")));
    add(b, "urn:uuid:55555555-5555-5555-5555-555555555555", c);
    AllergyIntolerance ai = new AllergyIntolerance();
    ai.setPatient(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
    ai.setClinicalStatus(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")));
    add(b, "urn:uuid:66666666-6666-6666-6666-666666666666", ai);
    Parameters in = new Parameters();
    if (appId != null) {
      in.addParameter().setName("appID").setValue(new StringType(appId));
    }
    in.addParameter().setName("patient").setValue(new Reference("urn:uuid:11111111-1111-1111-1111-111111111111"));
    in.addParameter().setName("encounter").setValue(new Reference("urn:uuid:22222222-2222-2222-2222-222222222222"));
    in.addParameter().setName("fhirUser").setValue(new Reference("urn:uuid:33333333-3333-3333-3333-333333333333"));
    in.addParameter().setName("fhirContext").setValue(new Reference("urn:uuid:55555555-5555-5555-5555-555555555555"));
    in.addParameter().setName("need_patient_banner").setValue(new BooleanType(true));
    in.addParameter().setName("intent").setValue(new StringType("reconcile-medications"));
    in.addParameter().setName("resources").setResource(b);
    return in;
  }

  static void add(Bundle b, String fullUrl, Resource r) {
    b.addEntry().setFullUrl(fullUrl).setResource(r).getRequest()
        .setMethod(Bundle.HTTPVerb.POST).setUrl(r.fhirType());
  }

  public static String launchId(Parameters out) {
    return ((StringType) out.getParameter("launchID").getValue()).getValue();
  }

  @Override
  public void close() {
    server.close();
  }
}
