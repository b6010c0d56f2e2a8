package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.SearchCriteria;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two SoFA nodes: two repositories over two connection pools on one database, as two processes
 * would have them.
 */
class PostgresFhirRepositoryTwoNodeTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private PostgresDatabase dbA;
  private PostgresDatabase dbB;
  private FhirResourceRepository nodeA;
  private FhirResourceRepository nodeB;

  @BeforeEach
  void twoNodes() {
    String url = EmbeddedPostgresSupport.newDatabase();
    dbA = PostgresDatabase.builder(url).maxPoolSize(6).build();
    dbB = PostgresDatabase.builder(url).maxPoolSize(6).build(); // migrating again changes nothing
    nodeA = new PostgresFhirRepository(dbA, CTX, Clock.systemUTC(), 20);
    nodeB = new PostgresFhirRepository(dbB, CTX, Clock.systemUTC(), 20);
  }

  @AfterEach
  void close() {
    dbA.close();
    dbB.close();
  }

  @Test
  void transaction_onA_readAndSearchedOnBAtOnce() {
    Parameters p = TestSofa.sixResourceContext("growth-chart");
    Bundle tx = (Bundle) p.getParameter("resources").getResource();

    Bundle resp = nodeA.transaction(tx);

    String patientId = idAt(resp, 0);
    for (int i = 0; i < 6; i++) {
      String[] loc = resp.getEntry().get(i).getResponse().getLocation().split("/");
      Optional<Resource> onB = nodeB.read(loc[0], loc[1]);
      assertThat(onB).as(loc[0]).isPresent();
      assertThat(onB.get().getMeta().getVersionId()).isEqualTo("1");
    }
    Observation o = (Observation) nodeB.read("Observation", idAt(resp, 3)).orElseThrow();
    assertThat(o.getSubject().getReference()).isEqualTo("Patient/" + patientId);
    assertThat(nodeB.search("Observation", SearchCriteria.builder()
        .patient("Patient/" + patientId).build())).hasSize(1);
    assertThat(nodeB.search("Patient", SearchCriteria.builder().identifier("urn:emr:mrn", "MRN-1")
        .build())).extracting(r -> r.getIdElement().getIdPart()).containsExactly(patientId);
  }

  @Test
  void update_concurrentOnAAndB_distinctConsecutiveVersions() throws Exception {
    String id = nodeA.create(patient("start")).getIdElement().getIdPart();
    int n = 16;

    List<Resource> results = together(n, i -> (i % 2 == 0 ? nodeA : nodeB)
        .update(withId(patient("w" + i), id)));

    Map<String, String> byVersion = new HashMap<>();
    results.forEach(r -> byVersion.put(r.getMeta().getVersionId(),
        ((Patient) r).getNameFirstRep().getFamily()));
    assertThat(byVersion.keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.rangeClosed(2, n + 1).mapToObj(Integer::toString).collect(Collectors.toList()));
    assertThat(nodeA.read("Patient", id).orElseThrow().getMeta().getVersionId())
        .isEqualTo(Integer.toString(n + 1));
    for (Map.Entry<String, String> e : byVersion.entrySet()) {
      Patient v = (Patient) nodeB.vread("Patient", id, e.getKey()).orElseThrow();
      assertThat(v.getNameFirstRep().getFamily()).isEqualTo(e.getValue());
    }
  }

  @Test
  void deleteOnB_racingUpdateExistingOnA_neverRecreated() throws Exception {
    for (int round = 0; round < 20; round++) {
      String id = nodeA.create(patient("x")).getIdElement().getIdPart();

      together(2, i -> i == 0 ? (Object) nodeB.delete("Patient", id)
          : nodeA.updateExisting(withId(patient("y"), id)));

      assertThat(nodeA.read("Patient", id)).isEmpty();
      assertThat(nodeB.read("Patient", id)).isEmpty();
    }
  }

  private static String idAt(Bundle resp, int i) {
    return resp.getEntry().get(i).getResponse().getLocation().split("/")[1];
  }

  private static Patient patient(String family) {
    Patient p = new Patient();
    p.addName().setFamily(family);
    return p;
  }

  private static <T extends Resource> T withId(T r, String id) {
    r.setId(id);
    return r;
  }

  /** Runs {@code call(i)} for i in 0..n-1 on n threads released together; results in i order. */
  private static <T> List<T> together(int n, IndexedCall<T> call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        fs.add(pool.submit((Callable<T>) () -> {
          go.await();
          return call.call(k);
        }));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private interface IndexedCall<T> {
    T call(int i) throws Exception;
  }
}
