package ca.halo.sofaserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration errors through the command line: exit code 2 and the key in the message. */
class SofaServerMainTest {
  private static final String VALID = """
      server:
        publicBaseUrl: http://localhost:8080
      identity:
        dev: true
        users:
          - { username: dr, password: pw, fhirUser: Practitioner/1 }
      """;

  @TempDir Path dir;

  private record Result(int code, String out, String err) {}

  private Result run(String yaml, Map<String, String> env, String... extra) throws IOException {
    Path file = dir.resolve("sofa.yaml");
    Files.writeString(file, yaml);
    String[] args = new String[extra.length + 3];
    args[0] = "--config";
    args[1] = file.toString();
    args[2] = "--check";
    System.arraycopy(extra, 0, args, 3, extra.length);
    return runArgs(env, args);
  }

  private static Result runArgs(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = SofaServerMain.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(code, out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void check_validConfiguration_exitsZero() throws IOException {
    Result r = run(VALID, Map.of());
    assertThat(r.err()).isEmpty();
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("configuration OK");
  }

  @Test
  void check_missingRequiredKey_namesItAndExitsTwo() throws IOException {
    Result r = run(VALID.replace("  publicBaseUrl: http://localhost:8080\n", "  port: 8080\n"),
        Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: server.publicBaseUrl: required");
  }

  @Test
  void check_postgresWithoutJdbcUrl_namesTheKey() throws IOException {
    Result r = run(VALID + "store:\n  type: postgres\n", Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains(
        "sofa.yaml: store.postgres.jdbcUrl: required when store.type is postgres");
  }

  @Test
  void check_unknownYamlKey_isRefusedWithSuggestion() throws IOException {
    Result r = run(VALID + "store:\n  type: postgres\n  postgres:\n    jdbcURL: embedded\n",
        Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("store.postgres.jdbcURL: unknown key (did you mean"
        + " store.postgres.jdbcUrl?)");
  }

  @Test
  void check_unknownSection_isRefused() throws IOException {
    Result r = run(VALID + "databse:\n  url: x\n", Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: databse: unknown key");
  }

  @Test
  void check_unknownHaloEnvironmentVariable_isRefusedWithSuggestion() throws IOException {
    Result r = run(VALID, Map.of("HALO_STORE_POSTGRE_URL", "jdbc:postgresql://db/sofa",
        "PATH", "/usr/bin"));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("HALO_STORE_POSTGRE_URL: unknown environment variable"
        + " (did you mean HALO_STORE_POSTGRES_JDBC_URL?)");
  }

  @Test
  void check_badUrl_namesTheKey() throws IOException {
    Result r = run(VALID.replace("http://localhost:8080", "localhost:8080/x?y=1"), Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: server.publicBaseUrl:");
  }

  @Test
  void check_plainHttpPublicHostWithoutDev_isRefused() throws IOException {
    Result r = run("""
        server:
          publicBaseUrl: http://sofa.example.ca
        identity:
          upstream: { issuer: https://idp.example.ca, clientId: sofa, clientSecret: s }
        """, Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("server.publicBaseUrl: must be https");
  }

  @Test
  void check_badDuration_namesTheKey() throws IOException {
    Result r = run(VALID + "limits:\n  contextTimeToLive: 8 hours\n", Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: limits.contextTimeToLive: '8 hours' is not a"
        + " duration");
  }

  @Test
  void check_badValueFromEnvironment_namesVariableAndKey() throws IOException {
    Result r = run(VALID, Map.of("HALO_SERVER_SHUTDOWN_GRACE", "soon"));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("HALO_SERVER_SHUTDOWN_GRACE (server.shutdownGrace): 'soon'"
        + " is not a duration");
  }

  @Test
  void check_tlsKeystoreMissing_namesTheKey() throws IOException {
    Result r = run(VALID.replace("server:\n", "server:\n  tls:\n    keystore: nowhere.p12\n"
        + "    keystorePassword: changeit\n"), Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: server.tls.keystore: file ").contains("nowhere.p12")
        .contains("does not exist");
  }

  @Test
  void check_usersWithoutDev_namesIdentityUsers() throws IOException {
    Result r = run(VALID.replace("  dev: true\n", ""), Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sofa.yaml: identity.users: only allowed with identity.dev:"
        + " true");
  }

  @Test
  void check_severalProblems_allReportedTogether() throws IOException {
    Result r = run(VALID + "server2: {}\nlimits:\n  maxEntries: -1\n  maxBodyBytes: 64KB2\n",
        Map.of("HALO_SERVER_PROT", "1"));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err().lines()).hasSize(4);
    assertThat(r.err()).contains("server2: unknown key", "limits.maxEntries:",
        "limits.maxBodyBytes:", "HALO_SERVER_PROT: unknown environment variable (did you mean"
            + " HALO_SERVER_PORT?)");
  }

  @Test
  void check_sampleConfigurations_pass() {
    assertThat(runArgs(Map.of(), "--config", "config/sofa.yaml", "--check").code()).isZero();
    Map<String, String> secrets = Map.of(
        "HALO_STORE_POSTGRES_PASSWORD", "secret",
        "HALO_FHIR_REMOTE_CLIENT_SECRET", "secret",
        "HALO_IDENTITY_UPSTREAM_CLIENT_SECRET", "secret",
        "HALO_IDENTITY_TOKEN_VALIDATION_INTROSPECTION_CLIENT_SECRET", "secret",
        "HALO_STORE_POSTGRES_SIGNING_KEY_ENCRYPTION_KEY",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    Result prod = runArgs(secrets, "--config", "config/sofa-production.example.yaml", "--check");
    assertThat(prod.err()).isEmpty();
    assertThat(prod.code()).isZero();
  }

  @Test
  void check_productionExampleWithoutSecrets_namesEachMissingSecret() {
    Result r = runArgs(Map.of(), "--config", "config/sofa-production.example.yaml", "--check");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("fhir.remote.clientSecret: required",
        "identity.upstream.clientSecret: required",
        "identity.tokenValidation.introspection.clientSecret: required");
  }

  @Test
  void run_missingConfigOption_exitsTwoWithUsage() {
    Result r = runArgs(Map.of());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--config");
  }

  @Test
  void run_missingFile_exitsTwo() {
    Result r = runArgs(Map.of(), "--config", dir.resolve("absent.yaml").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("absent.yaml: no such file");
  }

  @Test
  void run_unreachableDatabase_namesJdbcUrlAndExitsTwo() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Map<String, String> env = new HashMap<>();
    env.put("HALO_SERVER_PORT", "0");
    Path file = dir.resolve("sofa.yaml");
    Files.writeString(file, VALID + "store:\n  type: postgres\n  postgres:\n"
        + "    jdbcUrl: jdbc:postgresql://127.0.0.1:" + port + "/sofa\n"
        + "    password: hunter2\n    connectionTimeout: 2s\n");
    Result r = runArgs(env, "--config", file.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).startsWith(file + ": store.postgres.jdbcUrl: cannot use the database at"
        + " jdbc:postgresql://127.0.0.1:" + port + "/sofa");
    assertThat(r.err()).doesNotContain("hunter2").doesNotContain("\tat ");
  }
}
