package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SetContextDefaults;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.fhir.InMemoryFhirRepository;
import java.util.Set;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.Test;

/** {@link SofaServer.Builder#build()} freezes the settings; the builder is left as it was. */
class SofaServerBuilderTest {

  private static SofaServer.Builder builder() {
    return SofaServer.builder().users(new FormUserAuthenticator());
  }

  @Test
  void build_twiceFromOneBuilder_twoIndependentServers() {
    SofaServer.Builder b = builder();
    try (SofaServer one = b.build().start(); SofaServer two = b.build().start()) {
      assertThat(one.repository()).isNotSameAs(two.repository());
      assertThat(one.contexts()).isNotSameAs(two.contexts());
      assertThat(one.audit()).isNotSameAs(two.audit());
      assertThat(one.baseUrl()).isNotEqualTo(two.baseUrl());
      assertThat(one.subscriptions()).isNotSameAs(two.subscriptions());

      one.repository().create(new Patient().setActive(true));
      assertThat(((InMemoryFhirRepository) one.repository()).size()).isEqualTo(1);
      assertThat(((InMemoryFhirRepository) two.repository()).size()).isZero();
      // each has its own signing key
      assertThat(one.authorizationServer().jwks().body())
          .isNotEqualTo(two.authorizationServer().jwks().body());
    }
  }

  @Test
  void build_builderChangedAfterwards_builtServerKeepsItsSettings() {
    SofaServer.Builder b = builder();
    SofaServer built = b.build();
    b.allowedTypes(Set.of("Patient")).subscriptions(false);
    try (SofaServer s = built.start()) {
      assertThat(s.contextManager().allowedTypes())
          .isEqualTo(SetContextDefaults.ALLOWED_RESOURCE_TYPES);
      assertThat(s.subscriptions()).isNotNull();
    }
  }

  @Test
  void start_afterClose_canStartAgainOnFreshParts() {
    SofaServer s = builder().build();
    s.start();
    s.close();
    try (SofaServer again = s.start()) {
      assertThat(again.baseUrl()).isNotNull();
    }
  }
}
