package ca.halo.server.postgres.attack;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.postgres.PostgresFhirRepository;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An expired launch's patient data stays in {@code fhir_resource} for good when anything goes
 * wrong between two commits. {@code PostgresLaunchContextStore.removeExpired} deletes the
 * context rows (and their {@code halo_launch_context_resource} rows) and commits; only then does
 * {@code ContextManager.expireNow} search and delete the resources, one statement each. A node
 * killed in between, or a repository statement failing then (a failover, a statement timeout,
 * the pool exhausted: 503), ends the run; the contexts are already gone from the database, so no
 * later sweep on any node, and no {@code PostgresPurger} task, ever finds those resources again.
 * They stay readable to an administrator and count in no bound. Expected: the resources of an
 * ended launch deleted once the database is back (the context kept until they are, or the purge
 * able to find session-tagged resources whose session no longer exists).
 */
class OrphanedSessionResourcesTest {
  private AttackNode node;

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void expiryInterruptedAfterContextDeleted_resourcesNeverDeleted() throws Exception {
    AtomicBoolean failing = new AtomicBoolean();
    node = AttackNode.start(EmbeddedPostgresSupport.newDatabase(), null, (db, s) -> {
      FhirResourceRepository real = new PostgresFhirRepository(db, TestSofa.CTX);
      s.repository((FhirResourceRepository) Proxy.newProxyInstance(
          getClass().getClassLoader(), new Class<?>[] {FhirResourceRepository.class},
          (proxy, m, args) -> {
            if (failing.get() && (m.getName().equals("search") || m.getName().equals("delete"))) {
              // what PostgresFhirRepository answers when its statement cannot reach the database
              throw new FhirRepositoryException(503, "repository",
                  "the SoFA's resource database is unavailable; retry later");
            }
            try {
              return m.invoke(real, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          }))
          .contextTimeToLive(Duration.ofSeconds(2)).expirySweepInterval(Duration.ofHours(1));
    });
    String emr = node.sofa.emrToken(new Browser(), "dr.tremblay", "password");
    node.sofa.setContext(emr, "growth-chart");
    assertThat(node.count("SELECT count(*) FROM fhir_resource")).isEqualTo(6);
    Thread.sleep(2_500); // the launch expires

    failing.set(true); // a short outage of the repository's statements, during the sweep
    try {
      node.sofa.server.contextManager().expireNow();
    } catch (RuntimeException expected) {
      // the sweep ends; the SoFA logs it and retries next round
    }
    failing.set(false); // the database is back
    node.sofa.server.contextManager().expireNow();
    node.stores.purger().purgeNow();

    assertThat(node.count("SELECT count(*) FROM halo_launch_context")).isZero();
    assertThat(node.count("SELECT count(*) FROM fhir_resource"))
        .as("the expired launch's Patient, Encounter, Observation... still stored").isZero();
  }
}
