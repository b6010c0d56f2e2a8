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

  final String url() {
    return url;
  }

  /**
   * A node on the database at {@code url}; {@code publicBase} null: its own address is its public
   * one.
   */
  static AttackNode start(String url, URI publicBase, Consumer<SofaServer.Builder> customize)
      throws Exception {
    return start(url, publicBase, (db, s) -> customize.accept(s));
  }

  /** As above; {@code customize} also gets the node's database. */
  static AttackNode start(String url, URI publicBase,
      java.util.function.BiConsumer<PostgresDatabase, SofaServer.Builder> customize)
      throws Exception {
    PostgresDatabase db = PostgresDatabase.builder(url).maxPoolSize(8)
        .connectionTimeout(java.time.Duration.ofSeconds(2)).build();
    PostgresStores stores = PostgresStores.builder(db).fhirContext(TestSofa.CTX).purgeEvery(null)
        .build();
    int port = freePort();
    URI base = URI.create("http://127.0.0.1:" + port);
    TestSofa sofa = new TestSofa(s -> customize.accept(db, stores.applyTo(s).port(port)
        .publicBaseUrl(publicBase != null ? publicBase : base)));
    return new AttackNode(url, db, stores, sofa, base);
  }

  private final String url;

  private AttackNode(String url, PostgresDatabase db, PostgresStores stores, TestSofa sofa,
      URI base) {
    this.url = url;
    this.db = db;
    this.stores = stores;
    this.sofa = sofa;
    this.base = base;
  }

  /** The database's name, from its JDBC URL. */
  static String databaseName(String url) {
    String path = URI.create(url.substring("jdbc:".length())).getPath();
    return path.substring(1);
  }

  /**
   * The database goes away as in an outage: every connection to it is ended and no new one is
   * accepted, until {@link #databaseUp}.
   */
  static void databaseDown(String url) throws Exception {
    String name = databaseName(url);
    try (java.sql.Connection c = EmbeddedPostgresSupport.server().getPostgresDatabase()
        .getConnection(); java.sql.Statement s = c.createStatement()) {
      s.execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
          + name + "'");
    }
  }

  static void databaseUp(String url) throws Exception {
    try (java.sql.Connection c = EmbeddedPostgresSupport.server().getPostgresDatabase()
        .getConnection(); java.sql.Statement s = c.createStatement()) {
      s.execute("ALTER DATABASE " + databaseName(url) + " ALLOW_CONNECTIONS true");
    }
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
