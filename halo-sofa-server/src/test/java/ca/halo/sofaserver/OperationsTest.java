package ca.halo.sofaserver;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.SofaFlows;
import ca.halo.sofaserver.config.SofaConfig;
import ca.halo.sofaserver.config.SofaConfigLoader;
import ca.halo.sofaserver.internal.Logging;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Liveness, readiness, metrics, request ids, JSON logs and TLS of the assembled server, in-process. */
class OperationsTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir
  Path dir;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private SofaConfig config(Map<String, String> extra) throws Exception {
    for (String f : List.of("sofa.yaml", "clients.yaml", "catalog.json")) {
      if (!Files.exists(dir.resolve(f))) {
        try (InputStream in = getClass().getResourceAsStream("/nodes/" + f)) {
          Files.copy(in, dir.resolve(f));
        }
      }
    }
    int port = freePort();
    Map<String, String> env = new HashMap<>(Map.of("HALO_STORE_TYPE", "memory",
        "HALO_STORE_POSTGRES_JDBC_URL", "", "HALO_STORE_POSTGRES_POOL_SIZE", "",
        "HALO_SERVER_PORT", Integer.toString(port),
        "HALO_SERVER_PUBLIC_BASE_URL", "http://127.0.0.1:" + port, "HALO_LOGGING_FORMAT", "text"));
    env.putAll(extra);
    return SofaConfigLoader.load(dir.resolve("sofa.yaml"), env);
  }

  private static HttpResponse<String> get(HttpClient http, URI url, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthReadinessMetricsAndRequestIds() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(Map.of()))) {
      URI base = app.sofa().baseUrl();
      HttpResponse<String> health = get(HTTP, URI.create(base + "/healthz"));
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).isEqualTo("{\"status\":\"up\"}");
      HttpResponse<String> ready = get(HTTP, URI.create(base + "/readyz"));
      assertThat(ready.statusCode()).isEqualTo(200);
      assertThat(ready.body()).contains("\"signingKeys\":\"pass\"").doesNotContain("database");
      assertThat(app.ready()).isTrue();

      // every answer carries a request id; a plain one from the caller is kept, others replaced
      assertThat(health.headers().firstValue("X-Request-Id")).get().asString().matches("[0-9a-f]{16}");
      assertThat(get(HTTP, URI.create(base + "/healthz"), "X-Request-Id", "lb-42").headers()
          .firstValue("X-Request-Id")).contains("lb-42");
      assertThat(get(HTTP, URI.create(base + "/healthz"), "X-Request-Id", "a b<script>").headers()
          .firstValue("X-Request-Id")).get().asString().matches("[0-9a-f]{16}");

      SofaFlows sofa = new SofaFlows(base);
      Browser clinician = new Browser();
      String emr = sofa.emrToken(clinician, "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      sofa.appToken(clinician, launch);
      HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/auth/token"))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("grant_type=authorization_code&code=nope"
              + "&client_id=app&redirect_uri=http://localhost:9/app/callback&code_verifier=x"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(400);
      get(HTTP, URI.create(base + "/fhir/Observation/abc"), "Authorization", "Bearer " + emr);

      HttpResponse<String> metrics = get(HTTP, URI.create(base + "/metrics"));
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.headers().firstValue("Content-Type")).get().asString().startsWith("text/plain");
      String m = metrics.body();
      assertThat(m).contains("halo_token_requests_total{grant_type=\"authorization_code\",outcome=\"issued\"} 2.0")
          .contains("halo_token_requests_total{grant_type=\"authorization_code\",outcome=\"invalid_grant\"} 1.0")
          .contains("halo_contexts_live 1.0")
          .contains("halo_subscriptions{status=\"active\"} 0.0")
          .contains("halo_delivery_queue_depth")
          .contains("jvm_memory_used_bytes");
      assertThat(m).containsPattern("halo_http_server_requests_seconds_count\\{method=\"POST\","
          + "route=\"/fhir/\\$set-context\",status=\"200\"\\} 1(\\.0)?\\s");
      assertThat(m).containsPattern("halo_http_server_requests_seconds_bucket\\{method=\"GET\","
          + "route=\"/fhir/\\{type\\}/\\{id\\}\",status=\"404\",le=");
      // labels are routes and words: no id, token or patient datum
      assertThat(m).doesNotContain(launch).doesNotContain(emr).doesNotContain("/abc");
    }
  }

  @Test
  void jsonLogs_oneObjectPerLine_withTheRequestId() throws Exception {
    PrintStream saved = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      Logging.configure(SofaConfig.LogFormat.JSON, "INFO");
      MDC.put("requestId", "req-1");
      LoggerFactory.getLogger("ca.halo.test").info("hello {}", "world");
      MDC.remove("requestId");
    } finally {
      System.setOut(saved);
      Logging.configure(SofaConfig.LogFormat.TEXT, "INFO");
    }
    String line = captured.toString(StandardCharsets.UTF_8).lines()
        .filter(l -> l.contains("hello world")).findFirst().orElseThrow();
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.path("level").asText()).isEqualTo("INFO");
    assertThat(json.path("loggerName").asText()).isEqualTo("ca.halo.test");
    assertThat(json.path("formattedMessage").asText()).isEqualTo("hello world");
    assertThat(json.path("mdc").path("requestId").asText()).isEqualTo("req-1");
  }

  @Test
  void tls_fromAPkcs12KeyStore_servesHttps() throws Exception {
    Path p12 = dir.resolve("sofa.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process kt = new ProcessBuilder(keytool, "-genkeypair", "-alias", "sofa", "-keyalg", "EC",
        "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", p12.toString(),
        "-storepass", "changeit-123").redirectErrorStream(true).start();
    assertThat(kt.waitFor()).as(new String(kt.getInputStream().readAllBytes())).isZero();
    SofaConfig config = config(Map.of("HALO_SERVER_TLS_KEYSTORE", p12.toString(),
        "HALO_SERVER_TLS_KEYSTORE_PASSWORD", "changeit-123"));
    URI https = URI.create("https://127.0.0.1:" + config.server().port());
    config = config(Map.of("HALO_SERVER_TLS_KEYSTORE", p12.toString(),
        "HALO_SERVER_TLS_KEYSTORE_PASSWORD", "changeit-123",
        "HALO_SERVER_PORT", Integer.toString(config.server().port()),
        "HALO_SERVER_PUBLIC_BASE_URL", https.toString()));
    KeyStore trust = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      trust.load(in, "changeit-123".toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    HttpClient client = HttpClient.newBuilder().sslContext(ssl).build();
    try (SofaApplication app = SofaApplication.start(config)) {
      HttpResponse<String> r = get(client, URI.create(https + "/fhir/.well-known/smart-configuration"));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"issuer\":\"" + https + "/auth\"");
      assertThat(app.sofa().localPort()).isEqualTo(config.server().port());
    }
  }

  @Test
  void jwksTokenValidation_theIdpsSignedTokensAreAccepted_othersRefused() throws Exception {
    com.nimbusds.jose.jwk.RSAKey idpKey = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048)
        .keyID("idp-1").generate();
    com.nimbusds.jose.jwk.RSAKey otherKey = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048)
        .keyID("idp-1").generate();
    com.sun.net.httpserver.HttpServer idp = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    byte[] jwks = new com.nimbusds.jose.jwk.JWKSet(idpKey.toPublicJWK()).toString()
        .getBytes(StandardCharsets.UTF_8);
    idp.createContext("/jwks", ex -> {
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, jwks.length);
      ex.getResponseBody().write(jwks);
      ex.close();
    });
    idp.start();
    try {
      String issuer = "https://idp.example.ca/realms/halo";
      SofaConfig config = config(Map.of(
          "HALO_IDENTITY_TOKEN_VALIDATION_JWKS_URL",
          "http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks",
          "HALO_IDENTITY_TOKEN_VALIDATION_JWKS_ISSUER", issuer));
      try (SofaApplication app = SofaApplication.start(config)) {
        URI fhir = app.sofa().fhirBase();
        java.util.function.Function<com.nimbusds.jose.jwk.RSAKey, String> token = key -> {
          try {
            com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
                new com.nimbusds.jose.JWSHeader.Builder(com.nimbusds.jose.JWSAlgorithm.RS256)
                    .keyID("idp-1").build(),
                new com.nimbusds.jwt.JWTClaimsSet.Builder().issuer(issuer).audience(fhir.toString())
                    .subject("backend").claim("client_id", "backend").claim("scope", "system/*.rs")
                    .expirationTime(java.util.Date.from(java.time.Instant.now().plusSeconds(300)))
                    .build());
            jwt.sign(new com.nimbusds.jose.crypto.RSASSASigner(key));
            return jwt.serialize();
          } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
          }
        };
        assertThat(get(HTTP, URI.create(fhir + "/Patient?_id=nobody"), "Authorization",
            "Bearer " + token.apply(idpKey)).statusCode()).isEqualTo(200);
        assertThat(get(HTTP, URI.create(fhir + "/Patient?_id=nobody"), "Authorization",
            "Bearer " + token.apply(otherKey)).statusCode()).isEqualTo(401);
      }
    } finally {
      idp.stop(0);
    }
  }

  @Test
  void catalogUrl_theJurisdictionsCatalogApi_mirrored_itsAppsLaunchable() throws Exception {
    try (SofaApplication source = SofaApplication.start(config(Map.of()))) {
      URI catalogApi = source.sofa().catalogBase();
      int port = freePort();
      SofaConfig mirrorConfig = config(Map.of("HALO_CATALOG_FILE", "",
          "HALO_CATALOG_URL", catalogApi.toString(), "HALO_CATALOG_REFRESH", "1s",
          "HALO_SERVER_PORT", Integer.toString(port),
          "HALO_SERVER_PUBLIC_BASE_URL", "http://127.0.0.1:" + port));
      try (SofaApplication mirror = SofaApplication.start(mirrorConfig)) {
        assertThat(mirror.catalog()).get().satisfies(c ->
            assertThat(c.find("growth-chart")).isPresent());
        HttpResponse<String> apps = get(HTTP, URI.create(mirror.sofa().catalogBase() + "/apps"));
        assertThat(apps.statusCode()).isEqualTo(200);
        assertThat(apps.body()).contains("growth-chart");
        // the mirrored app is a client of the mirror: the whole launch works there
        SofaFlows sofa = new SofaFlows(mirror.sofa().baseUrl());
        Browser clinician = new Browser();
        String emr = sofa.emrToken(clinician, "dr.tremblay", "password");
        assertThat(sofa.appToken(clinician, sofa.setContext(emr, "growth-chart"))).isNotBlank();
      }
    }
    // a catalog out of reach stops the start-up, naming the key
    int dead = freePort();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SofaApplication.start(config(Map.of(
        "HALO_CATALOG_FILE", "", "HALO_CATALOG_URL", "http://127.0.0.1:" + dead + "/catalog"))))
        .isInstanceOf(ca.halo.sofaserver.config.ConfigException.class)
        .hasMessageContaining("catalog.url");
  }
}
