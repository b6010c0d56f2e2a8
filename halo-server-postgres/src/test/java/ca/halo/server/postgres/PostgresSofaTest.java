package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.sofa.SofaServer;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.Map;
import java.util.function.Consumer;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The real SoFA (HTTP, HAPI, Jetty) on the PostgreSQL stores: one node end to end, and two nodes
 * on one database behind one public address, where each step of a launch may land on either.
 */
class PostgresSofaTest {
  private final SharedDatabase db = new SharedDatabase();
  private TestSofa a;
  private TestSofa b;

  @AfterEach
  void stop() {
    if (b != null) {
      b.close();
    }
    if (a != null) {
      a.close();
    }
    db.close();
  }

  /** A SoFA node whose launch contexts, authorization state and audit are in the database. */
  private Consumer<SofaServer.Builder> onPostgres(PostgresDatabase node) {
    return s -> s.contexts(PostgresLaunchContextStore.builder(node).build())
        .authorizationStore(PostgresAuthorizationStateStore.builder(node).build())
        .audit(PostgresAuditSink.builder(node).build());
  }

  @Test
  void fullLaunch_onePostgresNode_setLaunchReadClear() throws Exception {
    PostgresDatabase node = db.node();
    a = new TestSofa(onPostgres(node));
    Browser browser = new Browser();

    String emr = a.emrToken(browser, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    assertThat(db.count("SELECT count(*) FROM halo_launch_context")).isEqualTo(1);
    String app = a.appToken(new Browser(), launch);
    Bundle patients = a.fhir(app).search().forResource(Patient.class).returnBundle(Bundle.class).execute();
    assertThat(patients.getEntry()).hasSize(1);
    assertThat(db.count("SELECT count(*) FROM halo_authz_grant")).isEqualTo(2); // the EMR's and the app's
    a.clearContext(emr, launch);

    assertThat(db.count("SELECT count(*) FROM halo_launch_context")).isZero();
    assertThatThrownBy(() -> a.fhir(app).search().forResource(Patient.class).returnBundle(Bundle.class).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.AuthenticationException.class);
    assertThat(db.count("SELECT count(*) FROM halo_audit_event WHERE subtype = 'set-context'")).isEqualTo(1);
    assertThat(db.count("SELECT count(*) FROM halo_audit_event WHERE subtype = 'clear-context'")).isEqualTo(1);
  }

  @Test
  void twoNodes_contextSetOnOne_appLaunchesRedeemsAndReadsOnTheOther() throws Exception {
    int portA = freePort();
    int portB = freePort();
    URI publicBase = URI.create("http://127.0.0.1:" + portA);
    String key = new RSAKeyGenerator(2048).keyID("sofa-1").keyUse(KeyUse.SIGNATURE)
        .algorithm(JWSAlgorithm.RS256).generate().toJSONString();
    // the nodes share what a deployment shares: the database, the FHIR store, the key, the address
    InMemoryFhirRepository repository = new InMemoryFhirRepository(TestSofa.CTX, Clock.systemUTC(), 10_000);
    Consumer<SofaServer.Builder> common = s -> s.repository(repository).publicBaseUrl(publicBase)
        .authorizationSettings(x -> x.signingKeyJwk(key));
    a = new TestSofa(common.andThen(s -> s.port(portA)).andThen(onPostgres(db.node())));
    b = new TestSofa(common.andThen(s -> s.port(portB)).andThen(onPostgres(db.node())));
    URI nodeB = URI.create("http://127.0.0.1:" + portB);
    Browser clinician = new Browser();

    // node A: the EMR signs the clinician in and sets the context
    String emr = a.emrToken(clinician, "dr.tremblay", "password");
    String launch = a.setContext(emr, "growth-chart");
    // node B: the app's /authorize finds the launch and the clinician's SSO session (set on A)
    Browser.Authz authz = clinician.authorize(URI.create(nodeB + "/auth/authorize"), Map.of(
        "client_id", "app", "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "aud", publicBase + "/fhir", "launch", launch,
        "scope", "launch patient/*.rs offline_access"), "dr.tremblay", "password");
    String code = authz.callback().get("code");
    assertThat(code).isNotNull();
    // node A redeems the code B issued; node B refuses it afterwards and ends its grant
    HttpResponse<String> token = clinician.postForm(URI.create(publicBase + "/auth/token"), Map.of(
        "grant_type", "authorization_code", "code", code, "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", authz.verifier, "client_id", "app"), null);
    assertThat(token.statusCode()).isEqualTo(200);
    JsonNode t = TestSofa.json(token.body());
    String access = t.get("access_token").asText();
    // node B serves the app's reads with A's token and the context from the database
    Bundle onB = fhir(nodeB, access).search().forResource(Patient.class).returnBundle(Bundle.class).execute();
    assertThat(onB.getEntry()).hasSize(1);
    // node B rotates the refresh token A issued
    HttpResponse<String> refreshed = clinician.postForm(URI.create(nodeB + "/auth/token"), Map.of(
        "grant_type", "refresh_token", "refresh_token", t.get("refresh_token").asText(),
        "client_id", "app"), null);
    assertThat(refreshed.statusCode()).isEqualTo(200);
    // a replay of the code, on B, ends the grant everywhere
    HttpResponse<String> replay = clinician.postForm(URI.create(nodeB + "/auth/token"), Map.of(
        "grant_type", "authorization_code", "code", code, "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", authz.verifier, "client_id", "app"), null);
    assertThat(replay.statusCode()).isEqualTo(400);
    assertThatThrownBy(() -> fhir(URI.create(publicBase.toString()), access).search().forResource(Patient.class)
        .returnBundle(Bundle.class).execute())
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.AuthenticationException.class);
    // node B clears the context that A set (the EMR's token from A works on B)
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(new org.hl7.fhir.r4.model.StringType(launch));
    fhir(nodeB, emr).operation().onServer().named("$clear-context").withParameters(clear).execute();
    assertThat(db.count("SELECT count(*) FROM halo_launch_context")).isZero();
    assertThat(repository.size()).isZero();
  }

  private static IGenericClient fhir(URI node, String token) {
    TestSofa.CTX.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
    IGenericClient c = TestSofa.CTX.newRestfulGenericClient(node + "/fhir");
    c.registerInterceptor(new BearerTokenAuthInterceptor(token));
    return c;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
