package ca.halo.server.postgres.attack;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresLaunchContextStore;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One search costs one database query per stored resource of <em>other</em> sessions.
 * {@code PostgresFhirRepository.search} pages through every candidate of the type in id order
 * and runs {@code SearchCriteria.sessionFilter()} on each; the SoFA's filter is
 * {@code AccessRules.sessionVisible}, which for a session not the caller's own asks
 * {@code LaunchContextStore.findBySession} - on PostgreSQL a round trip - once per candidate
 * row, never remembering the answer for the same session within the search, and rejected
 * candidates do not count towards the search's limit. So any user/-scoped token (an EMR user;
 * patient/ scopes are narrowed to one patient first) makes the SoFA run as many queries as the
 * table has rows of a type in others' sessions (100,000 launches x 1,000 writes each are
 * allowed), per request, on up to 64 threads. Expected: the cost of a search bounded by what it
 * may return (at most one lookup per distinct session).
 */
class SearchScanAmplificationTest {
  private AttackNode node;
  private final AtomicInteger lookups = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    // a node whose launch-context store (PostgreSQL) is counted
    node = AttackNode.start(EmbeddedPostgresSupport.newDatabase(), null,
        (db, s) -> s.contexts(counting(db)));
  }

  private LaunchContextStore counting(PostgresDatabase db) {
    LaunchContextStore real = PostgresLaunchContextStore.builder(db).build();
    return (LaunchContextStore) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {LaunchContextStore.class}, (proxy, m, args) -> {
          if (m.getName().equals("findBySession")) {
            lookups.incrementAndGet();
          }
          try {
            return m.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void userScopedSearch_queriesTheContextStoreOncePerOtherSessionsRow() throws Exception {
    Browser clinician = new Browser();
    String emr = node.sofa.emrToken(clinician, "dr.tremblay", "password");
    // launch B writes 200 Observations (well within its budget of 1,000)
    String appB = node.sofa.appToken(new Browser(), node.sofa.setContext(emr, "growth-chart"));
    String patientB = node.sofa.fhir(appB).search().forResource(Patient.class)
        .returnBundle(Bundle.class).execute().getEntry().get(0).getResource().getIdElement()
        .getIdPart();
    for (int i = 0; i < 200; i++) {
      node.sofa.fhir(appB).create().resource(TestSofa.weight(patientB, 20 + i)).execute();
    }
    // another clinician's EMR token (user/*.rs): none of those rows is visible to it
    String otherEmr = node.sofa.emrToken(new Browser(), "dr.roy", "password2");

    int before = lookups.get();
    HttpResponse<String> r = node.get("/fhir/Observation?_count=10", otherEmr);
    int during = lookups.get() - before;

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"total\":0");
    assertThat(during).as("context-store lookups (database round trips) for one search that"
        + " returns nothing, over 201 rows of one other session").isLessThan(20);
  }
}
