package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.subscription.SubscriptionException;
import ca.halo.server.subscription.SubscriptionStore;
import ca.halo.server.subscription.SubscriptionStoreContract;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The subscription store contract on PostgreSQL; "two nodes" are two pools over one database. */
class PostgresSubscriptionStoreTest extends SubscriptionStoreContract {
  private final List<PostgresDatabase> opened = new ArrayList<>();

  @Override
  protected SubscriptionStore newStore() {
    return newStores()[0];
  }

  @Override
  protected SubscriptionStore[] newStores() {
    String url = EmbeddedPostgresSupport.newDatabase();
    PostgresDatabase a = PostgresDatabase.builder(url).maxPoolSize(8).build();
    PostgresDatabase b = PostgresDatabase.builder(url).maxPoolSize(8).migrate(false).build();
    opened.add(a);
    opened.add(b);
    return new SubscriptionStore[] {new PostgresSubscriptionStore(a), new PostgresSubscriptionStore(b)};
  }

  @Test
  void databaseGone_503NotAStackTrace() {
    PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase();
    SubscriptionStore s = new PostgresSubscriptionStore(db);
    db.close();
    assertThatThrownBy(() -> s.find("000000000000000000000000"))
        .isInstanceOf(SubscriptionException.class).extracting("httpStatus").isEqualTo(503);
    assertThatThrownBy(() -> s.appendEvent("000000000000000000000000", T0, "Observation/1", 10, T0))
        .isInstanceOf(SubscriptionException.class).hasMessageContaining("retry later");
  }

  @AfterEach
  void close() {
    opened.forEach(PostgresDatabase::close);
  }
}
