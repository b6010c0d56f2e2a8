package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PostgresDatabaseTest {
  @Test
  void build_newDatabase_migratesAndAnswers() {
    try (PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase()) {
      int one = db.jdbi().withHandle(h -> h.createQuery("select 1").mapTo(Integer.class).one());
      assertThat(one).isEqualTo(1);
      boolean history = db.jdbi().withHandle(h -> h.createQuery(
          "select count(*) > 0 from information_schema.tables where table_name = :t")
          .bind("t", PostgresDatabase.HISTORY_TABLE).mapTo(Boolean.class).one());
      assertThat(history).isTrue();
    }
  }
}
