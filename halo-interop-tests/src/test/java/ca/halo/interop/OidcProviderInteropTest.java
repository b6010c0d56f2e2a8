package ca.halo.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * The SDK against panva's oidc-provider (npm, pinned with a lockfile), started by
 * {@code src/test/oidc-provider/server.mjs} on loopback: PKCE required, refresh tokens rotated,
 * introspection and revocation on, access tokens bound to the SoFA with resource indicators.
 */
class OidcProviderInteropTest extends OidcInteropContract {
  @BeforeAll
  void startOidcProvider() throws Exception {
    prepare();
    Path dir = Path.of(System.getProperty("oidc.provider.dir", "src/test/oidc-provider"));
    assertThat(dir.resolve("node_modules/oidc-provider")).as("oidc-provider (npm ci runs in Maven)").exists();
    int port = ProviderProcess.freePort();
    issuer = URI.create("http://127.0.0.1:" + port);
    provider = ProviderProcess.start("oidc-provider 9.13.3",
        List.of("node", "server.mjs", Integer.toString(port)), dir,
        Map.of("BACKEND_JWKS", new JWKSet(backendKey.toPublicJWK()).toString(),
            "SOFA_SIGN_IN", "http://127.0.0.1:" + sofaPort + "/auth/sign-in"),
        URI.create(issuer + "/.well-known/openid-configuration"), Duration.ofSeconds(60),
        Path.of("target/providers/oidc-provider.log"));
  }

  @Override
  protected String[] user() {
    return new String[] {"clinician", "any-password-dev-interactions"};
  }

  @Override
  protected URI introspectionEndpoint() {
    return URI.create(issuer + "/token/introspection");
  }

  @Override
  protected String fhirUser() {
    return "Practitioner/op-clinician";
  }
}
