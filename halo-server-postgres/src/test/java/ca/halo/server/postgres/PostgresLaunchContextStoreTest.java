package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.LaunchContextStoreContract;
import ca.halo.server.context.StoredContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The launch context contract on PostgreSQL, half of each concurrent test on a second node. */
class PostgresLaunchContextStoreTest extends LaunchContextStoreContract {
  private final List<SharedDatabase> databases = new ArrayList<>();
  private final Map<LaunchContextStore, SharedDatabase> databaseOf = new IdentityHashMap<>();
  private final Map<LaunchContextStore, Integer> capacityOf = new IdentityHashMap<>();

  @Override
  protected LaunchContextStore newStore(int capacity) {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    return store(db, capacity);
  }

  private LaunchContextStore store(SharedDatabase db, int capacity) {
    LaunchContextStore s = PostgresLaunchContextStore.builder(db.node()).capacity(capacity).build();
    databaseOf.put(s, db);
    capacityOf.put(s, capacity);
    return s;
  }

  @Override
  protected LaunchContextStore otherNode(LaunchContextStore store) {
    return store(databaseOf.get(store), capacityOf.get(store));
  }

  @AfterEach
  void closeDatabases() {
    databases.forEach(SharedDatabase::close);
  }

  @Test
  void twoNodes_createOnOneAddOnOther_deleteReturnsEverything() {
    LaunchContextStore a = newStore(10);
    LaunchContextStore b = otherNode(a);
    a.create(context("L1", "S1").toBuilder().addResource("Patient/1").build());

    assertThat(b.find("L1", T0)).isPresent();
    assertThat(b.addResource("S1", "Observation/1", T0)).isTrue();
    assertThat(a.addResource("S1", "Observation/2", T0)).isTrue();
    StoredContext gone = b.delete("L1").orElseThrow();

    assertThat(gone.resources()).containsExactlyInAnyOrder("Patient/1", "Observation/1", "Observation/2");
    assertThat(a.find("L1", T0)).isEmpty();
    assertThat(a.delete("L1")).isEmpty();
    assertThat(databaseOf.get(a).count("SELECT count(*) FROM halo_launch_context_resource")).isZero();
  }

  @Test
  void twoNodes_capacityCountedInTheDatabase_sharedByBoth() {
    LaunchContextStore a = newStore(2);
    LaunchContextStore b = otherNode(a);
    a.create(context("L1", "S1"));
    b.create(context("L2", "S2"));

    assertThat(a.size()).isEqualTo(2);
    assertThat(b.size()).isEqualTo(2);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.create(context("L3", "S3")))
        .isInstanceOf(ca.halo.server.context.ContextStoreFullException.class);
    assertThat(databaseOf.get(a).countersExact(PostgresLaunchContextStore.TABLE)).isTrue();
  }

  @Test
  void restart_newPoolOnTheSameDatabase_contextsStillThere() {
    SharedDatabase db = new SharedDatabase();
    databases.add(db);
    PostgresDatabase first = db.node();
    LaunchContextStore before = PostgresLaunchContextStore.builder(first).capacity(10).build();
    before.create(context("L1", "S1"));
    before.addResource("S1", "Observation/1", T0);
    first.close(); // the node goes down

    LaunchContextStore after = PostgresLaunchContextStore.builder(db.node()).capacity(10).build();

    assertThat(after.findBySession("S1", T0).map(StoredContext::launchId)).contains("L1");
    assertThat(after.delete("L1").orElseThrow().resources()).containsExactly("Observation/1");
  }

  @Test
  void expiredThenDelete_twoNodesManyRounds_countersStayExact() throws Exception {
    LaunchContextStore a = newStore(10_000);
    LaunchContextStore b = otherNode(a);
    for (int i = 0; i < 400; i++) {
      (i % 2 == 0 ? a : b).create(context("L" + i, "S" + i, T0.plusSeconds(i % 4)));
    }
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Integer>> fs = new ArrayList<>();
      for (LaunchContextStore s : List.of(a, b)) {
        fs.add(pool.submit(() -> {
          go.await();
          int n = 0;
          for (int sec = 1; sec <= 4; sec++) {
            for (List<StoredContext> listed = s.expired(T0.plusSeconds(sec), 40);
                !listed.isEmpty(); listed = s.expired(T0.plusSeconds(sec), 40)) {
              for (StoredContext c : listed) {
                n += s.delete(c.launchId()).isPresent() ? 1 : 0;
              }
            }
          }
          return n;
        }));
      }
      go.countDown();
      int total = 0;
      for (Future<Integer> f : fs) {
        total += f.get(60, TimeUnit.SECONDS);
      }
      assertThat(total).isEqualTo(400);
    } finally {
      pool.shutdownNow();
    }
    assertThat(a.size()).isZero();
    assertThat(databaseOf.get(a).countersExact(PostgresLaunchContextStore.TABLE)).isTrue();
  }
}
