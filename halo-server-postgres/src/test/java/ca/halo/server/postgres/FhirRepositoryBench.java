package ca.halo.server.postgres;

import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;

/**
 * A rough benchmark, not a test: {@code $set-context}-sized transactions (the six resources of
 * the seed flow, and 1,000) on {@link PostgresFhirRepository} (embedded PostgreSQL 17 on this
 * machine) against {@link InMemoryFhirRepository}. Prints timings; asserts nothing.
 *
 * <pre>{@code
 * mvn -q -o test-compile -pl halo-server-postgres -am
 * mvn -q -o dependency:build-classpath -pl halo-server-postgres -Dmdep.outputFile=/tmp/cp.txt
 * java -cp halo-server-postgres/target/test-classes:halo-server-postgres/target/classes:$(cat /tmp/cp.txt) \
 *     ca.halo.server.postgres.FhirRepositoryBench
 * }</pre>
 */
public final class FhirRepositoryBench {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  private FhirRepositoryBench() {}

  public static void main(String[] args) {
    int small = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int large = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    try (PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase()) {
      String settings = db.jdbi().withHandle(h -> h.createQuery("SELECT version() || ' | fsync='"
          + " || current_setting('fsync') || ' synchronous_commit='"
          + " || current_setting('synchronous_commit')").mapTo(String.class).one());
      System.out.println("PostgreSQL: " + settings);
      System.out.println("JVM: " + Runtime.version() + ", cores " + Runtime.getRuntime()
          .availableProcessors());
      List<FhirResourceRepository> repos = List.of(
          new InMemoryFhirRepository(CTX, Clock.systemUTC(), 10_000_000, 1L << 32, 20),
          new PostgresFhirRepository(db, CTX));
      for (FhirResourceRepository repo : repos) {
        String name = repo.getClass().getSimpleName();
        run(name, repo, "6 resources", FhirRepositoryBench::sixResources, small / 5, small);
        run(name, repo, "1,000 resources", () -> manyResources(1000), 3, large);
      }
    }
  }

  private static void run(String name, FhirResourceRepository repo, String what,
      java.util.function.Supplier<Bundle> bundle, int warmup, int runs) {
    for (int i = 0; i < warmup; i++) {
      repo.transaction(bundle.get());
    }
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      Bundle b = bundle.get();
      long t0 = System.nanoTime();
      repo.transaction(b);
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    double mean = Arrays.stream(ms).average().orElse(0);
    System.out.printf("%-24s %-16s runs %4d  median %8.2f ms  p95 %8.2f ms  mean %8.2f ms%n",
        name, what, runs, ms[runs / 2], ms[(int) Math.min(runs - 1, Math.ceil(runs * 0.95) - 1)],
        mean);
  }

  /** The seed flow's context, tagged with a session as {@code $set-context} does. */
  private static Bundle sixResources() {
    Bundle b = (Bundle) TestSofa.sixResourceContext("growth-chart").getParameter("resources")
        .getResource();
    return tagged(b);
  }

  /** A Patient and {@code n - 1} Observations of it. */
  private static Bundle manyResources(int n) {
    Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    Patient p = new Patient();
    p.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-1");
    p.addName().setFamily("Tremblay").addGiven("Léa");
    b.addEntry().setFullUrl("urn:uuid:patient").setResource(p).getRequest()
        .setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    for (int i = 1; i < n; i++) {
      Observation o = TestSofa.weight("x", 20 + i / 100.0);
      o.setSubject(new Reference("urn:uuid:patient"));
      o.addIdentifier().setSystem("urn:emr:obs").setValue("OBS-" + i);
      b.addEntry().setFullUrl("urn:uuid:obs-" + i).setResource(o).getRequest()
          .setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    }
    return tagged(b);
  }

  private static Bundle tagged(Bundle b) {
    String session = Long.toHexString(System.nanoTime());
    for (BundleEntryComponent e : b.getEntry()) {
      e.getResource().getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM,
          session, "SoFA session"));
    }
    return b;
  }
}
