package ca.halo.sofaserver.attack;

import ca.halo.sofaserver.config.SofaConfig;
import ca.halo.sofaserver.config.SofaConfigLoader;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The in-memory node of OperationsTest (the /nodes/ sample), on a free loopback port. */
final class AttackSupport {
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
      .build();

  private AttackSupport() {}

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static SofaConfig config(Path dir, Map<String, String> extra) throws Exception {
    for (String f : List.of("sofa.yaml", "clients.yaml", "catalog.json")) {
      if (!Files.exists(dir.resolve(f))) {
        try (InputStream in = AttackSupport.class.getResourceAsStream("/nodes/" + f)) {
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

  static HttpResponse<String> send(String method, URI url, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30))
        .method(method, method.equals("POST") || method.equals("PUT")
            ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** GET /auth/authorize of the EMR client of /nodes/clients.yaml: starts one pending sign-in. */
  static URI authorize(URI base) {
    String q = "response_type=code&client_id=emr&scope=" + enc("openid fhirUser")
        + "&redirect_uri=" + enc("http://localhost:9/emr/callback") + "&state=s"
        + "&aud=" + enc(base + "/fhir")
        + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGWSDMHlBM&code_challenge_method=S256";
    return URI.create(base + "/auth/authorize?" + q);
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
