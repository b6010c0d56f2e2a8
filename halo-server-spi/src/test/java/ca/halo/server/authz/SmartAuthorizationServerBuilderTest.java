package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.context.InMemoryLaunchContextStore;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** {@link SmartAuthorizationServer.Builder#build()} leaves the builder as it was. */
class SmartAuthorizationServerBuilderTest {

  private static SmartAuthorizationServer.Builder builder() {
    return SmartAuthorizationServer.builder().issuer(URI.create("http://127.0.0.1:9/auth"))
        .fhirBase(URI.create("http://127.0.0.1:9/fhir")).clients(new InMemoryClientRegistry())
        .users(new FormUserAuthenticator()).contexts(new InMemoryLaunchContextStore(10));
  }

  @Test
  void build_twiceFromOneBuilder_ownSigningKeysEach() {
    SmartAuthorizationServer.Builder b = builder();
    SmartAuthorizationServer one = b.build();
    SmartAuthorizationServer two = b.build();
    one.maintainKeys();
    two.maintainKeys();
    assertThat(one.jwks().body()).isNotEqualTo(two.jwks().body());
  }
}
