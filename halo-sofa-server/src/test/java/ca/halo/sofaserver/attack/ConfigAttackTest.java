package ca.halo.sofaserver.attack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.sofaserver.SofaServerMain;
import ca.halo.sofaserver.config.ConfigException;
import ca.halo.sofaserver.config.SofaConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration: unsafe combinations accepted, secrets printed by --check. */
class ConfigAttackTest {
  private static final String PRODUCTION = """
      server:
        publicBaseUrl: https://sofa.example.ca
        host: 0.0.0.0
      identity:
        dev: false
        upstream: { issuer: https://idp.example.ca/realms/halo, clientId: sofa, clientSecret: s }
      """;

  @TempDir Path dir;

  private Path write(String yaml) throws Exception {
    return Files.writeString(dir.resolve("sofa.yaml"), yaml);
  }

  /**
   * allow-loopback is "(development)" in the sample, and maps to
   * EndpointPolicy.allowLoopback(true).unsafeAllowPlainHttp(true): any subscriber may then make
   * the node POST to http://127.0.0.1:any-port (its own admin ports, sidecars). Nothing ties it
   * to identity.dev: a production configuration with it passes --check.
   */
  @Test
  void allowLoopbackEndpointPolicy_inAProductionConfiguration_isRefused() throws Exception {
    Path file = write(PRODUCTION);
    SofaConfigLoader.load(file, Map.of()); // the production configuration itself is fine
    assertThatThrownBy(() -> SofaConfigLoader.load(file,
        Map.of("HALO_SUBSCRIPTIONS_ENDPOINT_POLICY", "allow-loopback")))
        .as("allow-loopback without identity.dev").isInstanceOf(ConfigException.class)
        .hasMessageContaining("subscriptions.endpointPolicy");
  }

  /**
   * identity.dev: true (the built-in form with passwords in the file) is accepted with a public,
   * non-loopback, plain-http base URL on 0.0.0.0: clinicians' passwords are then posted in clear
   * to a network-facing form. The http check is waived by dev instead of dev being confined to
   * loopback.
   */
  @Test
  void devSignIn_onAPublicPlainHttpHost_isRefused() throws Exception {
    Path file = write("""
        server:
          publicBaseUrl: http://sofa.example.ca
          host: 0.0.0.0
        identity:
          dev: true
          users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ]
        """);
    assertThatThrownBy(() -> SofaConfigLoader.load(file, Map.of()))
        .as("dev sign-in served over plain http on a public host name")
        .isInstanceOf(ConfigException.class);
  }

  /** A URL key with credentials in it is refused, and the refusal prints the credentials. */
  @Test
  void check_urlWithCredentials_doesNotPrintThem() throws Exception {
    Path file = write(PRODUCTION);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = SofaServerMain.run(new String[] {"--config", file.toString(), "--check"},
        Map.of("HALO_IDENTITY_UPSTREAM_ISSUER", "https://sofa:Upstr3am-S3cret@idp.example.ca",
            "HALO_FHIR_TYPE", "remote",
            "HALO_FHIR_REMOTE_BASE_URL", "https://fhir.example.ca/fhir?access_token=T0ken-S3cret"),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String printed = err.toString(StandardCharsets.UTF_8);
    assertThat(code).isEqualTo(SofaServerMain.EXIT_CONFIG);
    assertThat(printed).contains("identity.upstream.issuer").contains("fhir.remote.baseUrl");
    assertThat(printed).as("--check output (CI logs, terminals)")
        .doesNotContain("Upstr3am-S3cret").doesNotContain("T0ken-S3cret");
  }
}
