package ca.halo.server.postgres;

import ca.halo.server.TestClock;
import ca.halo.server.authz.AuthorizationStateStore;
import ca.halo.server.authz.AuthorizationStateStoreContract;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;

/** The authorization state contract on PostgreSQL, half of each concurrent test on a second node. */
class PostgresAuthorizationStateStoreTest extends AuthorizationStateStoreContract {
  private final List<SharedDatabase> databases = new ArrayList<>();
  private final Map<AuthorizationStateStore, SharedDatabase> databaseOf = new IdentityHashMap<>();
  private final Map<AuthorizationStateStore, Integer> capacityOf = new IdentityHashMap<>();

  @Override
  protected AuthorizationStateStore newStore(TestClock clock, int capacity) {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    return store(db, clock, capacity);
  }

  private AuthorizationStateStore store(SharedDatabase db, TestClock clock, int capacity) {
    AuthorizationStateStore s = PostgresAuthorizationStateStore.builder(db.node()).clock(clock)
        .capacity(capacity).maxPerOwner(2).build();
    databaseOf.put(s, db);
    capacityOf.put(s, capacity);
    return s;
  }

  @Override
  protected AuthorizationStateStore otherNode(AuthorizationStateStore store) {
    return store(databaseOf.get(store), clock, capacityOf.get(store));
  }

  @AfterEach
  void closeDatabases() {
    databases.forEach(SharedDatabase::close);
  }
}
