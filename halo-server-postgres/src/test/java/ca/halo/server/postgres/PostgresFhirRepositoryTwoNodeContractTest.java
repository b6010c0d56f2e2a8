package ca.halo.server.postgres;

import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.FhirResourceRepositoryContract;
import ca.halo.server.fhir.SearchCriteria;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/**
 * The whole repository contract with every call going to the other of two nodes (two
 * repositories over two pools on one database): what one node writes, the other reads at once.
 */
class PostgresFhirRepositoryTwoNodeContractTest extends FhirResourceRepositoryContract {
  private static final ReusedDatabases DATABASES = new ReusedDatabases();

  @Override
  protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
    List<PostgresDatabase> nodes = DATABASES.next(2);
    return new Alternating(new PostgresFhirRepository(nodes.get(0), ctx, clock, maxVersions),
        new PostgresFhirRepository(nodes.get(1), ctx, clock, maxVersions));
  }

  @AfterEach
  void nextTest() {
    DATABASES.endTest();
  }

  @AfterAll
  static void closeDatabases() {
    DATABASES.close();
  }

  /** Sends each call to the next node in turn. */
  private static final class Alternating implements FhirResourceRepository {
    private final FhirResourceRepository[] nodes;
    private final AtomicInteger calls = new AtomicInteger();

    Alternating(FhirResourceRepository a, FhirResourceRepository b) {
      this.nodes = new FhirResourceRepository[] {a, b};
    }

    private FhirResourceRepository next() {
      return nodes[calls.getAndIncrement() & 1];
    }

    @Override
    public Optional<Resource> read(String type, String id) {
      return next().read(type, id);
    }

    @Override
    public Optional<Resource> vread(String type, String id, String version) {
      return next().vread(type, id, version);
    }

    @Override
    public Resource create(Resource resource) {
      return next().create(resource);
    }

    @Override
    public Resource update(Resource resource) {
      return next().update(resource);
    }

    @Override
    public Optional<Resource> updateExisting(Resource resource) {
      return next().updateExisting(resource);
    }

    @Override
    public boolean delete(String type, String id) {
      return next().delete(type, id);
    }

    @Override
    public List<Resource> search(String type, SearchCriteria criteria) {
      return next().search(type, criteria);
    }

    @Override
    public Bundle transaction(Bundle transaction) {
      return next().transaction(transaction);
    }
  }
}
