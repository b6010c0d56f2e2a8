package ca.halo.server.postgres;

import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.FhirResourceRepositoryContract;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/** The repository contract on a real PostgreSQL 17, a new database for each repository. */
class PostgresFhirRepositoryTest extends FhirResourceRepositoryContract {
  private final List<PostgresDatabase> databases = new ArrayList<>();

  @Override
  protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
    PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase();
    databases.add(db);
    return new PostgresFhirRepository(db, ctx, clock, maxVersions);
  }

  @AfterEach
  void closeDatabases() {
    databases.forEach(PostgresDatabase::close);
  }
}
