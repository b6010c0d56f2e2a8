package ca.halo.examples.sandbox;

import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import ca.halo.server.sofa.SofaServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Where the sandbox's SoFA keeps its state: in memory (the default), or in PostgreSQL with
 * {@code --store postgres} (an embedded PostgreSQL started here, or the database of
 * {@code --jdbc-url}, user and password in the URL).
 */
final class SandboxStore implements AutoCloseable {
  private final EmbeddedPostgres embedded;
  private final PostgresDatabase database;
  private final PostgresStores stores;
  private final String description;

  private SandboxStore(EmbeddedPostgres embedded, PostgresDatabase database, PostgresStores stores,
      String description) {
    this.embedded = embedded;
    this.database = database;
    this.stores = stores;
    this.description = description;
  }

  static SandboxStore open(HaloSandbox.Options o) {
    if (!o.store.equals("postgres")) {
      return new SandboxStore(null, null, null, "in memory (this JVM; lost on exit)");
    }
    EmbeddedPostgres embedded = null;
    String url = o.jdbcUrl;
    if (url == null) {
      try {
        embedded = EmbeddedPostgres.builder().start();
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the embedded PostgreSQL: " + e.getMessage(), e);
      }
      url = embedded.getJdbcUrl("postgres", "postgres");
    }
    PostgresDatabase db = PostgresDatabase.builder(url).build();
    PostgresStores stores = PostgresStores.builder(db).build();
    return new SandboxStore(embedded, db, stores, "PostgreSQL at "
        + url.replaceAll("password=[^&]*", "password=***")
        + (embedded != null ? " (embedded, stopped on exit)" : ""));
  }

  /** Puts the SoFA's stores here (nothing for the in-memory default). */
  Consumer<SofaServer.Builder> customizer() {
    return stores == null ? b -> { } : stores::applyTo;
  }

  @Override
  public String toString() {
    return description;
  }

  @Override
  public void close() {
    if (stores != null) {
      stores.close();
      database.close();
    }
    if (embedded != null) {
      try {
        embedded.close();
      } catch (IOException e) {
        // exiting anyway
      }
    }
  }
}
