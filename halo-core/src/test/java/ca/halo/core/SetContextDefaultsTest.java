package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SetContextDefaultsTest {

  @Test
  void allowedResourceTypes_theNineteenOfOurHaloReading() {
    assertThat(SetContextDefaults.ALLOWED_RESOURCE_TYPES).containsExactlyInAnyOrder("Patient",
        "Encounter", "Practitioner", "PractitionerRole", "Organization", "Location", "Condition",
        "Observation", "AllergyIntolerance", "MedicationRequest", "MedicationStatement",
        "Medication", "Immunization", "DiagnosticReport", "DocumentReference", "ServiceRequest",
        "Coverage", "RelatedPerson", "QuestionnaireResponse");
  }

  @Test
  void writeScopes_systemAndUserContextWrite_eachAContextScope() {
    assertThat(SetContextDefaults.WRITE_SCOPES)
        .containsExactlyInAnyOrder("system/Context.write", "user/Context.write");
  }

  @Test
  void defaults_unmodifiable() {
    assertThatThrownBy(() -> SetContextDefaults.ALLOWED_RESOURCE_TYPES.add("Bundle"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> SetContextDefaults.WRITE_SCOPES.add("user/*.cruds"))
        .isInstanceOf(UnsupportedOperationException.class);
  }
}
