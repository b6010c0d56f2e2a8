package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.SearchCriteria;
import ca.uhn.fhir.context.FhirContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the contract cannot see: the rows, the paging of searches, the database's refusals. */
class PostgresFhirRepositoryStorageTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private String url;
  private PostgresDatabase db;
  private PostgresFhirRepository repo;

  @BeforeEach
  void open() {
    url = EmbeddedPostgresSupport.newDatabase();
    db = PostgresDatabase.builder(url).maxPoolSize(8).build();
    repo = new PostgresFhirRepository(db, CTX, Clock.systemUTC(), 20);
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void update_manyTimes_historyRowsBoundedAndGoneWithTheResource() {
    String id = repo.create(patient("v1", null)).getIdElement().getIdPart();
    for (int v = 2; v <= 30; v++) {
      repo.update(withId(patient("v" + v, null), id));
    }

    assertThat(count("fhir_resource_version")).isEqualTo(19); // 20 kept, the current included
    assertThat(repo.vread("Patient", id, "10")).isEmpty();
    assertThat(repo.vread("Patient", id, "11")).isPresent();

    repo.delete("Patient", id);

    assertThat(count("fhir_resource")).isZero();
    assertThat(count("fhir_resource_version")).isZero();
  }

  @Test
  void create_storedAsJsonbWithSearchColumns() {
    Patient p = patient("Tremblay", "s-1");
    p.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-1");
    String id = repo.create(p).getIdElement().getIdPart();

    List<String> row = db.jdbi().withHandle(h -> h.createQuery("SELECT jsonb_typeof(resource),"
            + " resource->>'id', patient, identifiers[1], identifier_values[1], session_tags[1],"
            + " resource->'meta'->>'versionId' FROM fhir_resource")
        .map((rs, c) -> List.of(rs.getString(1), rs.getString(2), rs.getString(3),
            rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7))).one());

    assertThat(row).containsExactly("object", id, "Patient/" + id, "urn:emr:mrn|MRN-1", "MRN-1",
        "s-1", "1");
  }

  @Test
  void search_sessionFilterOverManyPages_stopsAtTheLimitWithoutScanningAll() {
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    for (int i = 0; i < 600; i++) {
      Patient p = patient("p" + i, i % 3 == 0 ? "mine" : "other");
      tx.addEntry().setResource(p).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    }
    repo.transaction(tx);
    AtomicInteger asked = new AtomicInteger();

    List<Resource> few = repo.search("Patient", SearchCriteria.builder()
        .sessionFilter(s -> asked.incrementAndGet() > 0 && "mine".equals(s)).limit(5).build());

    assertThat(few).hasSize(5).allSatisfy(r -> assertThat(session(r)).isEqualTo("mine"));
    assertThat(asked.get()).isLessThanOrEqualTo(64); // one page, not 600 rows

    List<Resource> all = repo.search("Patient", SearchCriteria.builder()
        .sessionFilter("mine"::equals).limit(1000).build());
    assertThat(all).hasSize(200).allSatisfy(r -> assertThat(session(r)).isEqualTo("mine"));
    assertThat(all).extracting(r -> r.getIdElement().getIdPart()).doesNotHaveDuplicates()
        .isSorted();

    List<Resource> pages = repo.search("Patient", SearchCriteria.builder()
        .sessionFilter("mine"::equals).limit(70).build()); // 70 a page: three pages and a bit
    assertThat(pages).hasSize(70).allSatisfy(r -> assertThat(session(r)).isEqualTo("mine"));
  }

  @Test
  void search_sessionFilterUsingTheSamePool_holdsNoConnectionMeanwhile() {
    // migrated by the test's pool (Flyway itself needs two connections), then a pool of one
    try (PostgresDatabase single = PostgresDatabase.builder(url).maxPoolSize(1)
        .connectionTimeout(Duration.ofMillis(500)).migrate(false).build()) {
      PostgresFhirRepository onOne = new PostgresFhirRepository(single, CTX);
      for (int i = 0; i < 5; i++) {
        onOne.create(patient("p" + i, "s" + i));
      }

      // a launch-context store on the same one-connection pool, asked for each candidate
      List<Resource> found = onOne.search("Patient", SearchCriteria.builder().sessionFilter(s -> {
        try (Connection c = single.dataSource().getConnection();
            PreparedStatement q = c.prepareStatement("SELECT ? IN ('s1', 's3')")) {
          q.setString(1, s);
          try (ResultSet rs = q.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
          }
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      }).build());

      assertThat(found).extracting(PostgresFhirRepositoryStorageTest::session)
          .containsExactlyInAnyOrder("s1", "s3");
    }
  }

  @Test
  void create_nulCharacter_refused422() {
    Patient p = patient("A\u0000B", null);

    assertThatThrownBy(() -> repo.create(p))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(422));
    assertThat(count("fhir_resource")).isZero();
  }

  @Test
  void databaseClosed_refused503() {
    String id = repo.create(patient("A", null)).getIdElement().getIdPart();
    db.close();

    assertThatThrownBy(() -> repo.read("Patient", id))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(503));
    assertThatThrownBy(() -> repo.create(patient("B", null)))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(503));
  }

  @Test
  void create_pastMaxResources_503AndNothingStored_untilOneIsDeleted() {
    PostgresFhirRepository small = new PostgresFhirRepository(db, CTX, Clock.systemUTC(), 20, 3);
    String first = small.create(patient("a", null)).getIdElement().getIdPart();
    small.create(patient("b", null));
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    for (String f : List.of("c", "d")) {
      tx.addEntry().setFullUrl("urn:uuid:" + java.util.UUID.randomUUID()).setResource(patient(f, null))
          .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    }
    assertThatThrownBy(() -> small.transaction(tx)).isInstanceOf(FhirRepositoryException.class)
        .satisfies(e -> assertThat(((FhirRepositoryException) e).httpStatus()).isEqualTo(503));
    assertThat(count("fhir_resource")).as("the whole transaction rolled back").isEqualTo(2);
    small.create(patient("c", null));
    assertThatThrownBy(() -> small.create(patient("d", null)))
        .isInstanceOf(FhirRepositoryException.class).hasMessageContaining("maximum of 3");
    small.update(withId(patient("a2", null), first)); // an update adds no resource
    small.delete("Patient", first);
    small.create(patient("d", null));
    assertThat(count("fhir_resource")).isEqualTo(3);
  }

  private long count(String table) {
    return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM " + table)
        .mapTo(Long.class).one());
  }

  private static String session(Resource r) {
    return r.getMeta().getTag().stream()
        .filter(c -> FhirResourceRepository.SESSION_TAG_SYSTEM.equals(c.getSystem()))
        .map(Coding::getCode).findFirst().orElse(null);
  }

  private static Patient patient(String family, String session) {
    Patient p = new Patient();
    p.addName().setFamily(family);
    if (session != null) {
      p.getMeta().addTag(FhirResourceRepository.SESSION_TAG_SYSTEM, session, null);
    }
    return p;
  }

  private static <T extends Resource> T withId(T r, String id) {
    r.setId(id);
    return r;
  }
}
