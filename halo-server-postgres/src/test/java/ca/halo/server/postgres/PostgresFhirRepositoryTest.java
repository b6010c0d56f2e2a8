package ca.halo.server.postgres;

import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.FhirResourceRepositoryContract;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/** The repository contract on a real PostgreSQL 17, an emptied database for each repository. */
class PostgresFhirRepositoryTest extends FhirResourceRepositoryContract {
  private static final ReusedDatabases DATABASES = new ReusedDatabases();

  @Override
  protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
    return new PostgresFhirRepository(DATABASES.next(), ctx, clock, maxVersions);
  }

  @AfterEach
  void nextTest() {
    DATABASES.endTest();
  }

  @AfterAll
  static void closeDatabases() {
    DATABASES.close();
  }
}
