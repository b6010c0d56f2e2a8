package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.time.Clock;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SoFA launch over HTTP with its session resources in PostgreSQL. */
class SofaOnPostgresTest {
  private PostgresDatabase db;
  private TestSofa sofa;

  @BeforeEach
  void start() throws Exception {
    db = EmbeddedPostgresSupport.newPostgresDatabase();
    PostgresFhirRepository repository = new PostgresFhirRepository(db, TestSofa.CTX);
    sofa = new TestSofa(b -> b.repository(repository));
  }

  @AfterEach
  void stop() {
    sofa.close();
    db.close();
  }

  @Test
  void launch_setContextAppReadsAndWrites_thenClearEmptiesTheTables() throws Exception {
    String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    Bundle resp = (Bundle) out.getParameter("resourcesResponse").getResource();
    assertThat(resp.getEntry()).hasSize(6).allSatisfy(e ->
        assertThat(e.getResponse().getLocation()).matches("[A-Za-z]+/[0-9a-f]{24}/_history/1"));
    String patientId = resp.getEntry().get(0).getResponse().getLocation().split("/")[1];
    assertThat(rows("fhir_resource")).isEqualTo(6);
    // another node on the same database sees the context's resources at once
    try (PostgresDatabase other = PostgresDatabase.builder(db.dataSource()).build()) {
      FhirResourceRepository nodeB = new PostgresFhirRepository(other, TestSofa.CTX,
          Clock.systemUTC(), 20);
      Observation height = (Observation) nodeB.read("Observation",
          resp.getEntry().get(3).getResponse().getLocation().split("/")[1]).orElseThrow();
      assertThat(height.getSubject().getReference()).isEqualTo("Patient/" + patientId);
    }

    IGenericClient app = sofa.fhir(sofa.appToken(new Browser(), TestSofa.launchId(out)));
    Patient p = app.read().resource(Patient.class).withId(patientId).execute();
    assertThat(p.getNameFirstRep().getFamily()).isEqualTo("Tremblay");
    Bundle observations = app.search().forResource(Observation.class)
        .where(Observation.PATIENT.hasId(patientId)).returnBundle(Bundle.class).execute();
    assertThat(observations.getEntry()).hasSize(1);

    MethodOutcome created = app.create().resource(TestSofa.weight(patientId, 21.5)).execute();
    String weightId = created.getId().getIdPart();
    Observation weight = app.read().resource(Observation.class).withId(weightId).execute();
    weight.getValueQuantity().setValue(22.0);
    MethodOutcome updated = app.update().resource(weight).execute();
    assertThat(updated.getId().getVersionIdPart()).isEqualTo("2");
    Observation first = app.read().resource(Observation.class).withIdAndVersion(weightId, "1")
        .execute();
    assertThat(first.getValueQuantity().getValue().doubleValue()).isEqualTo(21.5);
    assertThat(app.read().resource(Observation.class).withId(weightId).execute()
        .getValueQuantity().getValue().doubleValue()).isEqualTo(22.0);
    assertThat(app.search().forResource(Observation.class)
        .where(Observation.PATIENT.hasId(patientId)).returnBundle(Bundle.class).execute()
        .getEntry()).hasSize(2);
    assertThat(rows("fhir_resource")).isEqualTo(7);
    assertThat(rows("fhir_resource_version")).isEqualTo(1);

    sofa.clearContext(emr, TestSofa.launchId(out));

    assertThat(rows("fhir_resource")).isZero();
    assertThat(rows("fhir_resource_version")).isZero();
  }

  private long rows(String table) {
    return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM " + table)
        .mapTo(Long.class).one());
  }
}
