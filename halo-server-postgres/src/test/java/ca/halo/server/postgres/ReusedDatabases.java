package ca.halo.server.postgres;

import java.util.ArrayList;
import java.util.List;

/**
 * Migrated databases that the tests of one class share, emptied before each use, so a contract
 * test asks for "a new, empty store" without paying for a database and a migration each time.
 * The k-th database asked for within a test is the k-th of the list, so a test that holds two
 * stores at once still gets two databases.
 *
 * <pre>{@code
 * static final ReusedDatabases DATABASES = new ReusedDatabases();
 * @AfterEach void next() { DATABASES.endTest(); }
 * @AfterAll static void close() { DATABASES.close(); }
 * }</pre>
 *
 * <p>Not thread-safe: for one test class on one thread.
 */
final class ReusedDatabases implements AutoCloseable {
  private static final String EMPTY = "DO $$ DECLARE t text; BEGIN"
      + " SELECT string_agg(format('%I', tablename), ', ') INTO t FROM pg_tables"
      + " WHERE schemaname = current_schema() AND tablename <> '" + PostgresDatabase.HISTORY_TABLE
      + "'; IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ' || t || ' CASCADE'; END IF; END $$";

  /** Per database, the pools opened on it so far. */
  private final List<List<PostgresDatabase>> databases = new ArrayList<>();
  private final List<String> urls = new ArrayList<>();
  private int used;

  /** One pool on the next database of this test, emptied. */
  PostgresDatabase next() {
    return next(1).get(0);
  }

  /** {@code pools} pools (as many nodes) on the next database of this test, emptied. */
  List<PostgresDatabase> next(int pools) {
    if (used == databases.size()) {
      urls.add(EmbeddedPostgresSupport.newDatabase());
      databases.add(new ArrayList<>());
    }
    List<PostgresDatabase> open = databases.get(used);
    String url = urls.get(used++);
    while (open.size() < pools) {
      open.add(PostgresDatabase.builder(url).maxPoolSize(6).build());
    }
    open.get(0).jdbi().useHandle(h -> h.execute(EMPTY));
    return open.subList(0, pools);
  }

  /** The next test starts again from the first database. */
  void endTest() {
    used = 0;
  }

  @Override
  public void close() {
    databases.forEach(pools -> pools.forEach(PostgresDatabase::close));
    databases.clear();
    urls.clear();
  }
}
