package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

class InMemoryFhirRepositoryTest extends FhirResourceRepositoryContract {
  @Override
  protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
    return new InMemoryFhirRepository(ctx, clock, 100_000, 1L << 28, maxVersions);
  }

  /**
   * An update keeps the previous version whole (its meta put back): what that adds is counted
   * before the bound is checked, so the bound holds (attacker's review of issue 18, F3).
   */
  @Test
  void update_previousVersionKeptWhole_countedAgainstMaxBytes() {
    InMemoryFhirRepository small = new InMemoryFhirRepository(CTX, clock, 100, 300, 20);
    Patient p = patient("Tremblay");
    FhirResourceRepository.tagSession(p, "session-1");
    Patient stored = (Patient) small.create(p);
    assertThat(small.bytes()).isLessThanOrEqualTo(300);
    stored.getNameFirstRep().setFamily("Tremblay-Roy");
    assertThatThrownBy(() -> small.update(stored)).isInstanceOfSatisfying(FhirRepositoryException.class,
        e -> assertThat(e.httpStatus()).isEqualTo(503));
    assertThat(small.bytes()).isLessThanOrEqualTo(300);
    assertThat(((Patient) small.read("Patient", stored.getIdElement().getIdPart()).orElseThrow())
        .getNameFirstRep().getFamily()).isEqualTo("Tremblay");
  }

  /**
   * Only a session tag exactly as tagSession writes it is kept apart from the JSON; one with
   * more (an extension on its code) comes back whole, and one session named twice is found once
   * (attacker's review of issue 18, F4 and F5).
   */
  @Test
  void sessionTags_withMoreThanTagSessionWrites_comeBackWhole_andTwiceIsFoundOnce() {
    Patient p = patient("Ext");
    Coding tag = new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, "S3", "SoFA session");
    tag.getCodeElement().addExtension("http://example.org/x", new StringType("kept"));
    p.getMeta().addTag(tag);
    String id = repo.create(p).getIdElement().getIdPart();
    Coding back = repo.read("Patient", id).orElseThrow().getMeta().getTag().get(0);
    assertThat(back.getCodeElement().getExtensionByUrl("http://example.org/x")).isNotNull();

    Patient twice = patient("Twice");
    FhirResourceRepository.tagSession(twice, "S4");
    twice.getMeta().addTag(new Coding(FhirResourceRepository.SESSION_TAG_SYSTEM, "S4", "SoFA session"));
    repo.create(twice);
    assertThat(repo.search("Patient", SearchCriteria.builder().sessionTag("S4").build())).hasSize(1);
  }
}
