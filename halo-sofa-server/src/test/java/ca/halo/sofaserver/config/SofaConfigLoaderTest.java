package ca.halo.sofaserver.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SofaConfigLoaderTest {
  @TempDir Path dir;

  private Path write(String yaml) throws IOException {
    return Files.writeString(dir.resolve("sofa.yaml"), yaml);
  }

  @Test
  void load_environmentVariable_winsOverTheFile() throws IOException {
    Path file = write("""
        server:
          publicBaseUrl: http://localhost:8080
          port: 8080
          trustedProxies: [10.0.0.1]
        identity:
          dev: true
          users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ]
        store:
          type: postgres
          postgres: { jdbcUrl: embedded, password: from-file }
        """);
    SofaConfig c = SofaConfigLoader.load(file, Map.of(
        "HALO_SERVER_PORT", "9090",
        "HALO_SERVER_PUBLIC_BASE_URL", "https://sofa.example.ca/",
        "HALO_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7",
        "HALO_STORE_POSTGRES_PASSWORD", "from-env",
        "HALO_LIMITS_MAX_BODY_BYTES", "64KiB"));
    assertThat(c.server().port()).isEqualTo(9090);
    assertThat(c.server().publicBaseUrl()).isEqualTo(URI.create("https://sofa.example.ca"));
    assertThat(c.server().trustedProxies()).containsExactly("10.0.0.0/8", "192.0.2.7");
    assertThat(c.store().postgres().orElseThrow().password().orElseThrow().reveal())
        .isEqualTo("from-env");
    assertThat(c.limits().maxBodyBytes()).isEqualTo(64 * 1024);
    assertThat(c.where("server.port")).isEqualTo("HALO_SERVER_PORT (server.port)");
    assertThat(c.where("server.host")).isEqualTo(file + ": server.host");
    assertThat(c.toString()).doesNotContain("from-env").doesNotContain("pw,");
  }

  @Test
  void load_defaults_areThoseOfTheIssue() throws IOException {
    SofaConfig c = SofaConfigLoader.load(write("""
        server: { publicBaseUrl: http://127.0.0.1:8080 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        """), Map.of());
    assertThat(c.server().host()).isEqualTo("0.0.0.0");
    assertThat(c.server().port()).isEqualTo(8080);
    assertThat(c.server().maxThreads()).isEqualTo(200);
    assertThat(c.server().shutdownGrace()).isEqualTo(Duration.ofSeconds(20));
    assertThat(c.store().type()).isEqualTo(SofaConfig.StoreType.MEMORY);
    assertThat(c.fhir().type()).isEqualTo(SofaConfig.FhirType.MEMORY);
    assertThat(c.subscriptions().endpointPolicy())
        .isEqualTo(SofaConfig.EndpointPolicyChoice.PUBLIC_HTTPS);
    assertThat(c.limits()).isEqualTo(SofaConfig.Limits.defaults());
    assertThat(c.logging().level()).isEqualTo("INFO");
    assertThat(c.metrics().enabled()).isTrue();
    assertThat(c.identity().users().get(0).name()).isEqualTo("dr");
  }

  @Test
  void load_usersFromEnvironment_readAsFlowSequence() throws IOException {
    SofaConfig c = SofaConfigLoader.load(write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity: { dev: true }
        """), Map.of("HALO_IDENTITY_USERS",
        "[{username: a, password: p, fhirUser: Practitioner/a, name: A}]"));
    assertThat(c.identity().users()).singleElement()
        .satisfies(u -> assertThat(u.fhirUser()).isEqualTo("Practitioner/a"));
  }

  @Test
  void load_fhirTypeFollowsStoreType_andPostgresNeedsPostgresStore() throws IOException {
    Path file = write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        store: { type: postgres, postgres: { jdbcUrl: embedded } }
        """);
    assertThat(SofaConfigLoader.load(file, Map.of()).fhir().type())
        .isEqualTo(SofaConfig.FhirType.POSTGRES);
    assertThatThrownBy(() -> SofaConfigLoader.load(file, Map.of("HALO_STORE_TYPE", "memory",
        "HALO_FHIR_TYPE", "postgres")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
            .anyMatch(p -> p.contains("HALO_FHIR_TYPE (fhir.type): postgres needs store.type"))
            .anyMatch(p -> p.contains("store.postgres.jdbcUrl: only used when store.type is"
                + " postgres")));
  }

  @Test
  void load_bothSignIns_refused() throws IOException {
    assertThatThrownBy(() -> SofaConfigLoader.load(write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity:
          dev: true
          users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ]
          upstream: { issuer: https://idp.example.ca, clientId: sofa, clientSecret: s }
        """), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("identity: choose one sign-in");
  }

  @Test
  void load_noSignIn_refused() throws IOException {
    assertThatThrownBy(() -> SofaConfigLoader.load(write("""
        server: { publicBaseUrl: https://sofa.example.ca }
        """), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("identity: no sign-in configured");
  }

  @Test
  void load_invalidClientsFile_namesClientsFileAndEntry() throws IOException {
    Files.writeString(dir.resolve("clients.yaml"), """
        - clientId: emr
          type: confidential
          secret: short
        """);
    assertThatThrownBy(() -> SofaConfigLoader.load(write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        clients: { file: clients.yaml }
        """), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("clients.file: ")
        .hasMessageContaining("client 1 (emr)")
        .hasMessageContaining("at least 16 characters");
  }

  @Test
  void load_keystoreWithWrongPassword_namesKeystore() throws Exception {
    Path p12 = dir.resolve("sofa.p12");
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (var out = Files.newOutputStream(p12)) {
      ks.store(out, "right".toCharArray());
    }
    assertThatThrownBy(() -> SofaConfigLoader.load(write("""
        server:
          publicBaseUrl: https://sofa.example.ca
          tls: { keystore: sofa.p12, keystorePassword: wrong }
        identity: { upstream: { issuer: https://idp.example.ca, clientId: sofa, clientSecret: s } }
        """), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.tls.keystore: cannot open");
  }

  @Test
  void load_plainHttpRemoteFhirServer_refusedUnlessLoopback() throws IOException {
    Path file = write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        fhir: { type: remote, remote: { baseUrl: "http://hapi.internal:8080/fhir" } }
        """);
    assertThatThrownBy(() -> SofaConfigLoader.load(file, Map.of()))
        .hasMessageContaining("fhir.remote.baseUrl: must be https");
    assertThat(SofaConfigLoader.load(file, Map.of("HALO_FHIR_REMOTE_BASE_URL",
        "http://127.0.0.1:8081/fhir")).fhir().remote().orElseThrow().credentials()).isEmpty();
  }

  @Test
  void load_remoteSessionMarker_tagByDefault_sourceOnRequest_anythingElseRefused() throws IOException {
    Path file = write("""
        server: { publicBaseUrl: http://localhost:8080 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        fhir: { type: remote, remote: { baseUrl: "http://127.0.0.1:8081/fhir" } }
        """);
    assertThat(SofaConfigLoader.load(file, Map.of()).fhir().remote().orElseThrow().sessionMarker())
        .isEqualTo(ca.halo.server.fhir.RemoteFhirRepository.SessionMarker.TAG);
    assertThat(SofaConfigLoader.load(file, Map.of("HALO_FHIR_REMOTE_SESSION_MARKER", "source")).fhir()
        .remote().orElseThrow().sessionMarker())
        .isEqualTo(ca.halo.server.fhir.RemoteFhirRepository.SessionMarker.SOURCE);
    assertThatThrownBy(() -> SofaConfigLoader.load(file, Map.of("HALO_FHIR_REMOTE_SESSION_MARKER", "security")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("fhir.remote.sessionMarker");
  }

  @Test
  void load_duplicateYamlKey_refused() throws IOException {
    assertThatThrownBy(() -> SofaConfigLoader.load(write("""
        server:
          publicBaseUrl: http://localhost:8080
          publicBaseUrl: http://localhost:9090
        """), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not valid YAML");
  }

  @Test
  void load_everyKey_hasAnEnvironmentName() {
    assertThat(ca.halo.sofaserver.config.internal.Schema.envName("server.publicBaseUrl"))
        .isEqualTo("HALO_SERVER_PUBLIC_BASE_URL");
    assertThat(ca.halo.sofaserver.config.internal.Schema.envName("store.postgres.password"))
        .isEqualTo("HALO_STORE_POSTGRES_PASSWORD");
    assertThat(ca.halo.sofaserver.config.internal.Schema.byEnvironmentName())
        .hasSameSizeAs(ca.halo.sofaserver.config.internal.Schema.keys());
    assertThat(List.copyOf(ca.halo.sofaserver.config.internal.Schema.keys().keySet()))
        .contains("identity.tokenValidation.introspection.audience");
  }
}
