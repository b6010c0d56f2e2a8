package ca.halo.server.postgres.attack;

import ca.halo.server.TestSofa;
import ca.halo.server.postgres.EmbeddedPostgresSupport;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import ca.halo.server.sofa.SofaServer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.function.Consumer;

/**
 * A SoFA node (real Jetty, HAPI, OAuth on loopback) with every store on PostgreSQL, as
 * {@code PostgresStores.applyTo} wires it: what the attack tests run against.
 */
final class AttackNode implements AutoCloseable {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  final PostgresDatabase db;
  final PostgresStores stores;
  final TestSofa sofa;
  final URI base;

  /** A node on a new database. */
  static AttackNode start(Consumer<SofaServer.Builder> customize) throws Exception {
    return start(EmbeddedPostgresSupport.newDatabase(), null, customize);
  }

  /**
   * A node on the database at {@code url}; {@code publicBase} null: its own address is its public
   * one.
   */
  static AttackNode start(String url, URI publicBase, Consumer<SofaServer.Builder> customize)
      throws Exception {
    PostgresDatabase db = PostgresDatabase.builder(url).maxPoolSize(8).build();
    PostgresStores stores = PostgresStores.builder(db).fhirContext(TestSofa.CTX).purgeEvery(null)
        .build();
    int port = freePort();
    URI base = URI.create("http://127.0.0.1:" + port);
    TestSofa sofa = new TestSofa(s -> customize.accept(stores.applyTo(s).port(port)
        .publicBaseUrl(publicBase != null ? publicBase : base)));
    return new AttackNode(db, stores, sofa, base);
  }

  private AttackNode(PostgresDatabase db, PostgresStores stores, TestSofa sofa, URI base) {
    this.db = db;
    this.stores = stores;
    this.sofa = sofa;
    this.base = base;
  }

  long count(String sql) {
    return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET()
        .header("Accept", "application/fhir+json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path, String token, String contentType, String body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", contentType)
        .header("Accept", "application/fhir+json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    sofa.close();
    stores.close();
    db.close();
  }
}
