package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** $set-context with HAPI's instance validator plugged in: real R4 constraints answer 422. */
class FhirInstanceResourceValidatorTest {
  private static final FhirInstanceResourceValidator VALIDATOR = new FhirInstanceResourceValidator(TestSofa.CTX);
  private static TestSofa sofa;
  private static String emr;

  @BeforeAll
  static void start() throws Exception {
    // the validator loads the R4 definitions on first use (seconds on a busy machine): do it here,
    // not inside the first HTTP call and its client's read timeout
    VALIDATOR.validate(new Patient());
    sofa = new TestSofa(b -> b.validator(VALIDATOR));
    emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
  }

  @AfterAll
  static void stop() {
    sofa.close();
  }

  @Test
  void validContext_accepted() {
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    assertThat(TestSofa.launchId(out)).isNotBlank();
  }

  @Test
  void invariantViolation_422NamingTheEntry_nothingStored() {
    int before = ((InMemoryFhirRepository) sofa.server.repository()).size();
    Parameters in = TestSofa.sixResourceContext("growth-chart");
    // pat-1: a contact needs contact details or a name (an R4 invariant, not a cardinality)
    Patient p = (Patient) ((Bundle) in.getParameter("resources").getResource()).getEntryFirstRep().getResource();
    p.addContact().setGender(org.hl7.fhir.r4.model.Enumerations.AdministrativeGender.FEMALE);
    UnprocessableEntityException e = null;
    try {
      sofa.fhir(emr).operation().onServer().named("$set-context").withParameters(in).execute();
    } catch (UnprocessableEntityException ex) {
      e = ex;
    }
    assertThat(e).isNotNull();
    OperationOutcome oo = (OperationOutcome) e.getOperationOutcome();
    assertThat(oo.getIssueFirstRep().getExpression().get(0).getValue()).isEqualTo("resources.entry[0].resource");
    assertThat(oo.getIssueFirstRep().getDiagnostics()).contains("pat-1");
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isEqualTo(before);
  }

  @Test
  void wrongCode_inRequiredValueSet_reported() {
    Observation o = new Observation();
    o.setCode(new org.hl7.fhir.r4.model.CodeableConcept().setText("x"));
    o.getStatusElement().setValueAsString("final");
    o.getStatusElement().setValue(null);
    assertThat(VALIDATOR.validate(o)).anyMatch(m -> m.contains("status"));
  }
}
