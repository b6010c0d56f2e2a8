package ca.halo.sofaserver;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.sofaserver.config.SofaConfig;
import ca.halo.sofaserver.config.SofaConfigLoader;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts the server from configuration files, in this JVM, on a free loopback port. */
class SofaApplicationTest {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path dir;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The sample configuration, on a free port of 127.0.0.1, plus {@code extra}. */
  private static SofaConfig sample(int port, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(extra);
    env.put("HALO_SERVER_HOST", "127.0.0.1");
    env.put("HALO_SERVER_PORT", Integer.toString(port));
    env.put("HALO_SERVER_PUBLIC_BASE_URL", "http://127.0.0.1:" + port);
    return SofaConfigLoader.load(Path.of("config/sofa.yaml"), env);
  }

  private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void start_sampleConfigInMemory_servesSmartConfiguration() throws Exception {
    int port = freePort();
    try (SofaApplication app = SofaApplication.start(sample(port, Map.of()))) {
      assertThat(app.database()).isEmpty();
      HttpResponse<String> r = get(URI.create("http://127.0.0.1:" + port
          + "/fhir/.well-known/smart-configuration"));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"token_endpoint\"")
          .contains("http://127.0.0.1:" + port + "/auth/token");
      assertThat(app.clients().find("sandbox-emr")).isPresent();
      HttpResponse<String> catalog = get(URI.create("http://127.0.0.1:" + port
          + "/catalog/apps"));
      assertThat(catalog.statusCode()).isEqualTo(200);
      assertThat(catalog.body()).contains("growth-chart");
    }
    // closed: the port is free again
    try (ServerSocket s = new ServerSocket(port)) {
      assertThat(s.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void start_embeddedPostgres_servesSmartConfigurationAndClosesTheDatabase() throws Exception {
    int port = freePort();
    SofaApplication app = SofaApplication.start(sample(port, Map.of(
        "HALO_STORE_TYPE", "postgres", "HALO_STORE_POSTGRES_JDBC_URL", "embedded")));
    try {
      assertThat(app.database()).isPresent();
      assertThat(app.sofa().repository().getClass().getSimpleName())
          .isEqualTo("PostgresFhirRepository");
      HttpResponse<String> r = get(URI.create("http://127.0.0.1:" + port
          + "/fhir/.well-known/smart-configuration"));
      assertThat(r.statusCode()).isEqualTo(200);
      Integer tables = app.database().get().jdbi().withHandle(h -> h.createQuery(
          "select count(*) from halo_schema_history").mapTo(Integer.class).one());
      assertThat(tables).isPositive();
    } finally {
      app.close();
    }
  }

  @Test
  void start_remoteFhir_usesRemoteRepository() throws Exception {
    try (SofaApplication app = SofaApplication.start(sample(freePort(), Map.of(
        "HALO_FHIR_TYPE", "remote", "HALO_FHIR_REMOTE_BASE_URL", "http://127.0.0.1:1/fhir",
        "HALO_FHIR_REMOTE_SESSION_MARKER", "source")))) {
      assertThat(app.sofa().repository())
          .isInstanceOfSatisfying(ca.halo.server.fhir.RemoteFhirRepository.class, r ->
              assertThat(r.sessionMarker()).isEqualTo(ca.halo.server.fhir.RemoteFhirRepository.SessionMarker.SOURCE));
    }
  }

  @Test
  void reload_changedClientsFile_newClientKnownAndInvalidFileKeepsTheOld() throws Exception {
    Path clients = dir.resolve("clients.json");
    Files.writeString(clients, """
        [{"clientId": "emr-a", "type": "public", "redirectUris": ["http://localhost/cb"]}]
        """);
    Path file = Files.writeString(dir.resolve("sofa.yaml"), """
        server: { publicBaseUrl: http://127.0.0.1:1, host: 127.0.0.1, port: 0 }
        identity: { dev: true, users: [ { username: dr, password: pw, fhirUser: Practitioner/1 } ] }
        clients: { file: clients.json }
        subscriptions: { enabled: false }
        """);
    try (SofaApplication app = SofaApplication.start(SofaConfigLoader.load(file, Map.of()))) {
      assertThat(app.clients().find("emr-a")).isPresent();

      Files.writeString(clients, """
          - { clientId: emr-a, type: public, redirectUris: [http://localhost/cb] }
          - { clientId: emr-b, type: confidential, secret: a-secret-of-16-chars-or-more,
              redirectUris: [http://localhost/b] }
          """);
      await(() -> app.clients().find("emr-b").isPresent(), Duration.ofSeconds(10));
      assertThat(app.clients().find("emr-a")).isPresent();

      Files.writeString(clients, "[{\"clientId\": \"emr-c\", \"typo\": 1}]");
      // two polls and some: the reloader has seen the invalid file and kept the old clients
      Thread.sleep(SofaApplication.RELOAD_INTERVAL.multipliedBy(2).plusMillis(1_000).toMillis());
      assertThat(app.clients().find("emr-b")).isPresent();
      assertThat(app.clients().find("emr-c")).isEmpty();

      Files.writeString(clients, "[{\"clientId\": \"emr-c\"}]");
      await(() -> app.clients().find("emr-c").isPresent(), Duration.ofSeconds(10));
      assertThat(app.clients().find("emr-b")).isEmpty();
    }
  }

  private static void await(BooleanSupplier condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within " + timeout).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
