package ca.halo.server.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.Objects;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;

/**
 * The SoFA's PostgreSQL database: a HikariCP pool, the schema migrated by Flyway
 * ({@code classpath:ca/halo/server/postgres/migration}, history table {@code halo_schema_history},
 * so it can share a database with other applications), and Jdbi over it. The stores of this
 * module take one and share it.
 *
 * <pre>{@code
 * try (PostgresDatabase db = PostgresDatabase.builder("jdbc:postgresql://db:5432/sofa")
 *     .user("sofa").password(secret).maxPoolSize(16).build()) {
 *   ...
 * }
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} closes the pool when this object made it.
 */
public final class PostgresDatabase implements AutoCloseable {
  /** Where the migrations live on the class path. */
  public static final String MIGRATIONS = "classpath:ca/halo/server/postgres/migration";
  /** Flyway's history table, named so the SoFA can share a database. */
  public static final String HISTORY_TABLE = "halo_schema_history";

  private final DataSource dataSource;
  private final HikariDataSource owned;
  private final Jdbi jdbi;

  private PostgresDatabase(Builder b) {
    if (b.dataSource != null) {
      this.dataSource = b.dataSource;
      this.owned = null;
    } else {
      HikariConfig c = new HikariConfig();
      c.setJdbcUrl(b.jdbcUrl);
      c.setUsername(b.user);
      c.setPassword(b.password);
      c.setMaximumPoolSize(b.maxPoolSize);
      c.setConnectionTimeout(b.connectionTimeout.toMillis());
      c.setPoolName("halo-postgres");
      this.owned = new HikariDataSource(c);
      this.dataSource = owned;
    }
    if (b.migrate) {
      Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).table(HISTORY_TABLE)
          .load().migrate();
    }
    this.jdbi = Jdbi.create(dataSource).installPlugin(new PostgresPlugin());
  }

  public static Builder builder(String jdbcUrl) {
    Builder b = new Builder();
    b.jdbcUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    return b;
  }

  /** Over a data source the caller owns (and closes). */
  public static Builder builder(DataSource dataSource) {
    Builder b = new Builder();
    b.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    return b;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  /**
   * Whether the database answers a trivial query within {@code timeout} (a readiness check).
   * Never throws.
   */
  public boolean reachable(Duration timeout) {
    try (java.sql.Connection c = dataSource.getConnection()) {
      return c.isValid((int) Math.max(1, timeout.toSeconds()));
    } catch (java.sql.SQLException | RuntimeException e) {
      return false;
    }
  }

  /**
   * How many of this module's migrations the database has not applied (0 once migrated).
   *
   * @throws org.flywaydb.core.api.FlywayException if the database cannot be read
   */
  public int pendingMigrations() {
    return Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).table(HISTORY_TABLE)
        .load().info().pending().length;
  }

  /** Connections of this pool by state ({@code active}, {@code idle}, {@code pending}, {@code total}); empty over a caller's data source. */
  public java.util.Map<String, Integer> poolConnections() {
    if (owned == null || owned.getHikariPoolMXBean() == null) {
      return java.util.Map.of();
    }
    com.zaxxer.hikari.HikariPoolMXBean m = owned.getHikariPoolMXBean();
    return java.util.Map.of("active", m.getActiveConnections(), "idle", m.getIdleConnections(),
        "pending", m.getThreadsAwaitingConnection(), "total", m.getTotalConnections());
  }

  @Override
  public void close() {
    if (owned != null) {
      owned.close();
    }
  }

  @Override
  public String toString() {
    return "PostgresDatabase{" + (owned != null ? owned.getJdbcUrl() : "external data source") + "}";
  }

  /** Builds a {@link PostgresDatabase}. */
  public static final class Builder {
    private String jdbcUrl;
    private DataSource dataSource;
    private String user;
    private String password;
    private int maxPoolSize = 10;
    private Duration connectionTimeout = Duration.ofSeconds(10);
    private boolean migrate = true;

    private Builder() {}

    public Builder user(String v) { this.user = v; return this; }
    public Builder password(String v) { this.password = v; return this; }
    /** Connections in the pool. Default 10. */
    public Builder maxPoolSize(int v) { this.maxPoolSize = v; return this; }
    /** How long a request waits for a connection before it fails. Default 10 s. */
    public Builder connectionTimeout(Duration v) { this.connectionTimeout = Objects.requireNonNull(v); return this; }
    /** Migrate the schema at start (default). Off when an operator runs the migrations. */
    public Builder migrate(boolean v) { this.migrate = v; return this; }

    public PostgresDatabase build() {
      if (maxPoolSize < 1) {
        throw new IllegalStateException("maxPoolSize must be positive");
      }
      return new PostgresDatabase(this);
    }
  }
}
