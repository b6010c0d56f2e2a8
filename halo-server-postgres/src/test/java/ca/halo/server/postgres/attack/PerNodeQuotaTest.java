package ca.halo.server.postgres.attack;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.net.URI;
import java.net.http.HttpResponse;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two SoFA nodes on one database, as {@code PostgresStores} is meant to run them. The per-caller
 * bounds that protect the shared tables are kept in each node's memory
 * ({@code ContextManager.usage}, {@code WriteBudget.used}), not in the database: with N nodes a
 * caller gets N times each bound, a restart gives it a fresh one, and a context set on one node
 * and cleared on the other is never given back to the first node's count, which then refuses
 * the owner for good. {@code PostgresFhirRepository} itself has no bound at all (the in-memory
 * repository has {@code maxResources}/{@code maxBytes}), so these per-node budgets are the only
 * thing that bounds {@code fhir_resource}.
 */
class PerNodeQuotaTest {
  private AttackNode a;
  private AttackNode b;

  private void start(java.util.function.Consumer<ca.halo.server.sofa.SofaServer.Builder> limits)
      throws Exception {
    String url = EmbeddedPostgresSupport.newDatabase();
    a = AttackNode.start(url, null, limits);
    b = AttackNode.start(url, a.base, limits);
  }

  @AfterEach
  void stop() {
    if (b != null) {
      b.close();
    }
    if (a != null) {
      a.close();
    }
  }

  private static IGenericClient fhir(URI node, String token) {
    TestSofa.CTX.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
    IGenericClient c = TestSofa.CTX.newRestfulGenericClient(node + "/fhir");
    c.registerInterceptor(new BearerTokenAuthInterceptor(token));
    return c;
  }

  private static int status(Runnable r) {
    try {
      r.run();
      return 200;
    } catch (BaseServerResponseException e) {
      return e.getStatusCode();
    }
  }

  /** A launch's write budget (2 new resources here) is per node: node B grants 2 more. */
  @Test
  void sessionWriteBudget_isPerNode_secondNodeWritesPastIt() throws Exception {
    start(s -> s.maxSessionWrites(1L << 20, 2));
    String emr = a.sofa.emrToken(new Browser(), "dr.tremblay", "password");
    String launch = a.sofa.setContext(emr, "growth-chart");
    String app = a.sofa.appToken(new Browser(), launch);
    String patientId = fhir(a.base, app).search().forResource(Patient.class)
        .returnBundle(Bundle.class).execute().getEntry().get(0).getResource().getIdElement()
        .getIdPart();
    long before = a.count("SELECT count(*) FROM fhir_resource");

    fhir(a.base, app).create().resource(TestSofa.weight(patientId, 20)).execute();
    fhir(a.base, app).create().resource(TestSofa.weight(patientId, 21)).execute();
    assertThat(status(() -> fhir(a.base, app).create().resource(TestSofa.weight(patientId, 22))
        .execute())).as("node A: budget used").isEqualTo(413);
    int onB = status(() -> fhir(b.base, app).create().resource(TestSofa.weight(patientId, 23))
        .execute());

    assertThat(a.count("SELECT count(*) FROM fhir_resource") - before)
        .as("resources the launch created, on both nodes").isLessThanOrEqualTo(2);
    assertThat(onB).as("node B, same launch, same token").isEqualTo(413);
  }

  /** maxContextsPerOwner (1 here) is per node: node B accepts a second live context. */
  @Test
  void contextsPerOwner_isPerNode_secondNodeAcceptsMore() throws Exception {
    start(s -> s.maxContextsPerOwner(1));
    String emr = a.sofa.emrToken(new Browser(), "dr.tremblay", "password");
    a.sofa.setContext(emr, "growth-chart");
    HttpResponse<String> onA = a.post("/fhir/$set-context", emr, "application/fhir+json",
        TestSofa.CTX.newJsonParser().encodeResourceToString(
            TestSofa.sixResourceContext("growth-chart")));
    assertThat(onA.statusCode()).as("node A: quota reached").isEqualTo(429);

    HttpResponse<String> onB = b.post("/fhir/$set-context", emr, "application/fhir+json",
        TestSofa.CTX.newJsonParser().encodeResourceToString(
            TestSofa.sixResourceContext("growth-chart")));

    assertThat(a.count("SELECT count(*) FROM halo_launch_context")).as("live contexts of one owner")
        .isLessThanOrEqualTo(1);
    assertThat(onB.statusCode()).as(onB.body()).isEqualTo(429);
  }

  /**
   * A context set on node A and cleared on node B is never released from A's count: the owner,
   * who holds no live context at all, is refused on A from then on (until A restarts).
   */
  @Test
  void contextClearedOnOtherNode_ownerLockedOutOnFirstNode() throws Exception {
    start(s -> s.maxContextsPerOwner(1));
    String emr = a.sofa.emrToken(new Browser(), "dr.tremblay", "password");
    String launch = a.sofa.setContext(emr, "growth-chart");
    org.hl7.fhir.r4.model.Parameters clear = new org.hl7.fhir.r4.model.Parameters();
    clear.addParameter().setName("launchID").setValue(new org.hl7.fhir.r4.model.StringType(launch));
    fhir(b.base, emr).operation().onServer().named("$clear-context").withParameters(clear)
        .execute();
    assertThat(a.count("SELECT count(*) FROM halo_launch_context")).isZero();

    HttpResponse<String> again = a.post("/fhir/$set-context", emr, "application/fhir+json",
        TestSofa.CTX.newJsonParser().encodeResourceToString(
            TestSofa.sixResourceContext("growth-chart")));

    assertThat(again.statusCode()).as("owner with no live context, on node A: " + again.body())
        .isEqualTo(200);
  }
}
