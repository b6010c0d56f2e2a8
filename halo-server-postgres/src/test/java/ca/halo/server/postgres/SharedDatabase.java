package ca.halo.server.postgres;

import java.util.ArrayList;
import java.util.List;

/**
 * One fresh database on the embedded server and any number of "nodes" on it: each
 * {@link #node()} is a {@link PostgresDatabase} with a pool of its own, as a SoFA node has.
 * {@link #close()} closes every pool.
 */
final class SharedDatabase implements AutoCloseable {
  private final String url = EmbeddedPostgresSupport.newDatabase();
  private final List<PostgresDatabase> pools = new ArrayList<>();

  /** A new pool (a new node) on the shared database; the first one migrates it. */
  synchronized PostgresDatabase node() {
    PostgresDatabase db = PostgresDatabase.builder(url).maxPoolSize(8).build();
    pools.add(db);
    return db;
  }

  /** The first node's pool, for direct SQL in assertions. */
  synchronized PostgresDatabase any() {
    return pools.isEmpty() ? node() : pools.get(0);
  }

  long count(String sql) {
    return any().jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  /** Whether every counter row of {@code table} equals the rows it counts. */
  boolean countersExact(String table) {
    long rows = count("SELECT count(*) FROM " + table);
    long counted = count("SELECT coalesce((SELECT n FROM halo_row_count WHERE tbl = '" + table
        + "' AND owner = ''), 0)");
    long perOwnerWrong = count("SELECT count(*) FROM (SELECT o, count(*) AS n FROM " + table
        + ", unnest(owners) AS o GROUP BY o) r FULL JOIN (SELECT owner, n FROM halo_row_count"
        + " WHERE tbl = '" + table + "' AND owner <> '' AND n <> 0) c ON c.owner = r.o"
        + " WHERE r.n IS DISTINCT FROM c.n");
    return rows == counted && perOwnerWrong == 0;
  }

  @Override
  public synchronized void close() {
    pools.forEach(PostgresDatabase::close);
    pools.clear();
  }
}
