package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.Test;

/** The session tag, defined once in the SPI ({@link FhirResourceRepository}). */
class SessionTagTest {

  @Test
  void tagSession_callerPlantedTag_replacedByTheServersSession() {
    Observation o = new Observation();
    o.getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, "victim", null));
    o.getMeta().addTag(new Coding("http://example.org/other", "keep", null));
    FhirResourceRepository.tagSession(o, "mine");
    assertThat(FhirResourceRepository.sessionOf(o)).contains("mine");
    assertThat(o.getMeta().getTag()).extracting(Coding::getCode)
        .containsExactlyInAnyOrder("keep", "mine");
  }

  @Test
  void tagSession_nullSession_removesEverySessionTag() {
    Observation o = new Observation();
    o.getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, "a", null));
    o.getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, "b", null));
    FhirResourceRepository.tagSession(o, null);
    assertThat(FhirResourceRepository.sessionOf(o)).isEmpty();
    assertThat(o.getMeta().getTag()).isEmpty();
  }

  @Test
  void sessionOf_untagged_empty() {
    assertThat(FhirResourceRepository.sessionOf(new Observation())).isEmpty();
  }
}
