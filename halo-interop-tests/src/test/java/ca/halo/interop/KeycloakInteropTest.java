package ca.halo.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * The SDK against Keycloak 26 (from Maven Central), started in dev mode on loopback with the realm
 * in {@code src/test/resources/keycloak/halo-realm.json}.
 */
class KeycloakInteropTest extends OidcInteropContract {
  @BeforeAll
  void startKeycloak() throws Exception {
    prepare();
    Path home = Path.of(System.getProperty("keycloak.home", "target/keycloak/missing"));
    Path java = Path.of(System.getProperty("keycloak.java.home", "/usr/lib/jvm/temurin-25-jdk-amd64"));
    assertThat(home.resolve("bin/kc.sh")).as("Keycloak distribution (unpacked by Maven)").exists();
    assertThat(java.resolve("bin/java")).as("a Java 21+ runtime for Keycloak (keycloak.java.home)").exists();
    String realm = Files.readString(Path.of("src/test/resources/keycloak/halo-realm.json"), StandardCharsets.UTF_8)
        .replace("${BACKEND_JWKS}", new JWKSet(backendKey.toPublicJWK()).toString().replace("\"", "\\\""))
        .replace("${SOFA_SIGN_IN}", "http://127.0.0.1:" + sofaPort + "/auth/sign-in");
    Path imports = home.resolve("data/import");
    Files.createDirectories(imports);
    Files.writeString(imports.resolve("halo-realm.json"), realm, StandardCharsets.UTF_8);
    int port = ProviderProcess.freePort();
    issuer = URI.create("http://127.0.0.1:" + port + "/realms/halo");
    provider = ProviderProcess.start("Keycloak 26.5.6",
        List.of(home.resolve("bin/kc.sh").toString(), "start-dev", "--http-port=" + port,
            "--http-host=127.0.0.1", "--import-realm", "--db=dev-mem",
            "--http-management-port=" + ProviderProcess.freePort()),
        home, Map.of("JAVA_HOME", java.toString(),
            "JAVA_OPTS_APPEND", "--add-opens=java.base/java.lang=ALL-UNNAMED"),
        URI.create(issuer + "/.well-known/openid-configuration"),
        Duration.ofSeconds(240), Path.of("target/providers/keycloak.log"));
  }

  @Override
  protected String[] user() {
    return new String[] {"clinician", "halo-password"};
  }

  @Override
  protected URI introspectionEndpoint() {
    return URI.create(issuer + "/protocol/openid-connect/token/introspect");
  }

  @Override
  protected String fhirUser() {
    return "Practitioner/kc-clinician";
  }
}
