package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.uhn.fhir.context.FhirContext;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

class PatientCompartmentTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  private static Optional<String> patientOf(String subject) {
    return PatientCompartment.patientOf(CTX, new Observation().setSubject(new Reference(subject)));
  }

  @Test
  void patientOf_plainAndVersionedReferences() {
    assertThat(patientOf("Patient/p-1")).contains("Patient/p-1");
    assertThat(patientOf("Patient/p-1/_history/3")).contains("Patient/p-1");
  }

  @Test
  void patientOf_referencesThatNameNoPatient_empty() {
    // found by SetContextProperties: "Patient/" threw ArrayIndexOutOfBoundsException (a 500)
    assertThat(patientOf("Patient/")).isEmpty();
    assertThat(patientOf("Patient//x")).isEmpty();
    assertThat(patientOf("Patient/a/b")).isEmpty();
    assertThat(patientOf("Patient/a/_history")).isEmpty();
    assertThat(patientOf("Patient/a b")).isEmpty();
    assertThat(patientOf("Group/g")).isEmpty();
    assertThat(PatientCompartment.encounterOf(CTX,
        new Observation().setEncounter(new Reference("Encounter/")))).isEmpty();
  }

  @Test
  void setContext_entryWithTypeOnlySubject_storedInNoCompartment() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      Parameters in = TestSofa.sixResourceContext("growth-chart");
      Bundle bundle = (Bundle) in.getParameter("resources").getResource();
      for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
        if (e.getResource() instanceof Observation) {
          ((Observation) e.getResource()).setSubject(new Reference("Patient/"));
        }
        if (e.getResource() instanceof Encounter) {
          ((Encounter) e.getResource()).setSubject(new Reference("Patient/"));
        }
      }
      Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
          .withParameters(in).execute();
      assertThat(out.getParameter("launchID").getValue()).isInstanceOf(StringType.class);
    }
  }
}
