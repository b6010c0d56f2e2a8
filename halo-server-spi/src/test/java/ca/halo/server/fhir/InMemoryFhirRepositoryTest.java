package ca.halo.server.fhir;

import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;

class InMemoryFhirRepositoryTest extends FhirResourceRepositoryContract {
  @Override
  protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
    return new InMemoryFhirRepository(ctx, clock, 100_000, 1L << 28, maxVersions);
  }
}
