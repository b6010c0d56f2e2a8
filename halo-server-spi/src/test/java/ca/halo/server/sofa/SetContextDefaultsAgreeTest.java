package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SetContextDefaults;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.uhn.fhir.context.FhirContext;
import org.junit.jupiter.api.Test;

/** The SoFA's defaults are halo-core's (the client checks against the same set). */
class SetContextDefaultsAgreeTest {

  @Test
  void contextManager_defaults_areHaloCoresSetContextDefaults() {
    ContextManager m = ContextManager.builder(new InMemoryFhirRepository(FhirContext.forR4Cached()),
        new InMemoryLaunchContextStore(10)).build();
    assertThat(m.allowedTypes()).isEqualTo(SetContextDefaults.ALLOWED_RESOURCE_TYPES);
  }
}
