package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class LaunchContextTest {
  @Test
  void parse_specTokenResponse_readsContext() {
    LaunchContext c = LaunchContext.parse(Fixtures.read("token-response-example.json"));
    assertThat(c.patient()).contains("123");
    assertThat(c.encounter()).contains("456");
    assertThat(c.needPatientBanner()).contains(true);
    assertThat(c.intent()).contains("client-ui-name");
    assertThat(c.smartStyleUrl()).contains(URI.create("https://ehr.example.org/styles/smart_v1.json"));
    assertThat(c.fhirContext()).hasSize(3);
    assertThat(c.fhirContext().get(0).reference()).contains("Appointment/123");
    assertThat(c.fhirContext().get(0).type()).isEmpty(); // kept as sent
    assertThat(c.fhirContext().get(1).canonical()).contains("http://example.org/Questionnaire/phq-9|1.0");
    assertThat(c.fhirContext().get(2).identifier().orElseThrow().getValue()).isEqualTo("abc");
    assertThat(c.fhirContext().get(2).role()).contains("http://example.org/role/order");
  }

  @Test
  void roundTrip_throughJsonAndParameters() {
    LaunchContext c = LaunchContext.builder()
        .patient("p1").encounter("e1").needPatientBanner(false).intent("reconcile")
        .tenant("t1").fhirUser("Practitioner/9").smartStyleUrl(URI.create("https://s.example/style.json"))
        .addFhirContext(FhirContextItem.reference("ServiceRequest/5").withRole("http://x/role"))
        .addFhirContext(FhirContextItem.identifier("urn:sys", "v", "DocumentReference"))
        .build();
    assertThat(LaunchContext.parse(c.toJson())).isEqualTo(c);
    assertThat(LaunchContext.fromTokenResponseParameters(c.toTokenResponseParameters())).isEqualTo(c);
  }

  @Test
  void toString_hidesValues() {
    LaunchContext c = LaunchContext.builder().patient("secret-patient-id").build();
    assertThat(c.toString()).doesNotContain("secret-patient-id").contains("patient=set");
  }

  @Test
  void parse_fhirContextNotArray_throws() {
    assertThatThrownBy(() -> LaunchContext.parse("{\"fhirContext\": {\"reference\": \"a/b\"}}"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("fhirContext");
  }

  @Test
  void parse_fhirContextItemWithTwoTargets_throws() {
    assertThatThrownBy(() -> LaunchContext.parse(
            "{\"fhirContext\": [{\"reference\": \"a/b\", \"canonical\": \"http://c\"}]}"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("exactly one");
  }

  @Test
  void parse_bannerNotBoolean_throws() {
    assertThatThrownBy(() -> LaunchContext.parse("{\"need_patient_banner\": \"yes\"}"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("need_patient_banner");
  }
}
