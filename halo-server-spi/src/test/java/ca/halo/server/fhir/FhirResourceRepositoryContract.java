package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.TestClock;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Bundle.HTTPVerb;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Medication;
import org.hl7.fhir.r4.model.MedicationRequest;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link FhirResourceRepository} that keeps the SoFA's own resources must do, as
 * {@link InMemoryFhirRepository} does it: versioned reads and writes, the searches of
 * {@link SearchCriteria} (each criterion, their AND, {@code limit}, {@code sessionFilter} before
 * the limit), all-or-nothing {@code transaction} Bundles, copies in and out, and atomic writes
 * under concurrency. A shared (database) implementation extends this class with its own factory:
 *
 * <pre>{@code
 * class MyRepositoryTest extends FhirResourceRepositoryContract {
 *   protected FhirResourceRepository newRepository(FhirContext ctx, Clock clock, int maxVersions) {
 *     return new MyRepository(ctx, clock, maxVersions);
 *   }
 * }
 * }</pre>
 *
 * <p>Results of a search are compared as sets: the order is the repository's own.
 */
public abstract class FhirResourceRepositoryContract {
  protected static final FhirContext CTX = FhirContext.forR4Cached();
  protected static final Instant START = Instant.parse("2026-01-01T08:00:00Z");
  private static final String SESSION = FhirResourceRepository.SESSION_TAG_SYSTEM;
  private static final List<String> TYPES = List.of("Patient", "Encounter", "Observation",
      "AllergyIntolerance", "Medication", "MedicationRequest");

  /** The clock the repository under test reads; tests move it by hand. */
  protected final TestClock clock = new TestClock(START);
  /** A fresh repository for each test, keeping 20 versions per resource. */
  protected FhirResourceRepository repo;

  /**
   * A new, empty repository that takes {@code lastUpdated} from {@code clock} and keeps
   * {@code maxVersions} versions of each resource. Called once or more per test.
   */
  protected abstract FhirResourceRepository newRepository(FhirContext ctx, Clock clock,
      int maxVersions);

  @BeforeEach
  void newRepositoryForTheTest() {
    repo = newRepository(CTX, clock, 20);
  }

  // ---- create, read, vread

  @Test
  void create_newResource_hexIdVersion1AndLastUpdated() {
    Resource stored = repo.create(patient("Tremblay"));

    assertThat(stored.getIdElement().getIdPart()).matches("[0-9a-f]{24}");
    assertThat(stored.getIdElement().getResourceType()).isEqualTo("Patient");
    assertThat(stored.getMeta().getVersionId()).isEqualTo("1");
    assertThat(stored.getMeta().getLastUpdated()).isEqualTo(Date.from(START));
    Patient read = (Patient) repo.read("Patient", stored.getIdElement().getIdPart()).orElseThrow();
    assertThat(read.getNameFirstRep().getFamily()).isEqualTo("Tremblay");
    assertThat(read.getMeta().getVersionId()).isEqualTo("1");
    assertThat(read.getMeta().getLastUpdated()).isEqualTo(Date.from(START));
  }

  @Test
  void create_callerIdAndMeta_ignoredAndArgumentUnchanged() {
    Patient in = patient("Roy");
    in.setId("chosen-by-caller");
    in.getMeta().setVersionId("7");

    Resource stored = repo.create(in);

    assertThat(stored.getIdElement().getIdPart()).isNotEqualTo("chosen-by-caller");
    assertThat(stored.getMeta().getVersionId()).isEqualTo("1");
    assertThat(repo.read("Patient", "chosen-by-caller")).isEmpty();
    assertThat(in.getIdElement().getIdPart()).isEqualTo("chosen-by-caller");
    assertThat(in.getMeta().getVersionId()).isEqualTo("7");
  }

  /**
   * A repository may keep id, version, time and session tags apart from the body (the in-memory
   * one does, issue 18): what comes back from read, vread (current and older) and search is the
   * resource as written, session tag with its display, other tags kept (a session tag may come
   * back after the others).
   */
  @Test
  void metaAndSessionTag_comeBackAsWritten_fromReadVreadAndSearch() {
    Patient p = patient("Gagnon");
    p.getMeta().addTag(new Coding("http://example.org/tags", "emr", "From the EMR"));
    FhirResourceRepository.tagSession(p, "session-1");
    p.getMeta().addTag(new Coding(SESSION, "session-2", "another display")); // not as tagSession writes
    Resource v1 = repo.create(p);
    String id = id(v1);
    clock.advance(java.time.Duration.ofSeconds(5));
    Patient change = (Patient) repo.read("Patient", id).orElseThrow();
    change.getNameFirstRep().setFamily("Gagnon-Roy");
    repo.update(change);

    java.util.function.Function<Resource, String> json = r -> CTX.newJsonParser().encodeResourceToString(r);
    Resource old = repo.vread("Patient", id, "1").orElseThrow();
    assertThat(old.getIdElement().getValue()).isEqualTo("Patient/" + id + "/_history/1");
    assertThat(old.getMeta().getVersionId()).isEqualTo("1");
    assertThat(old.getMeta().getLastUpdated()).isEqualTo(Date.from(START));
    assertThat(((Patient) old).getNameFirstRep().getFamily()).isEqualTo("Gagnon");
    assertThat(old.getMeta().getTag()).extracting(Coding::getSystem, Coding::getCode, Coding::getDisplay)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("http://example.org/tags", "emr", "From the EMR"),
            org.assertj.core.groups.Tuple.tuple(SESSION, "session-1", "SoFA session"),
            org.assertj.core.groups.Tuple.tuple(SESSION, "session-2", "another display"));
    Resource current = repo.read("Patient", id).orElseThrow();
    assertThat(current.getIdElement().getValue()).isEqualTo("Patient/" + id + "/_history/2");
    assertThat(current.getMeta().getVersionId()).isEqualTo("2");
    assertThat(current.getMeta().getLastUpdated()).isEqualTo(Date.from(START.plusSeconds(5)));
    assertThat(current.getMeta().getTag()).extracting(Coding::getSystem, Coding::getCode, Coding::getDisplay)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("http://example.org/tags", "emr", "From the EMR"),
            org.assertj.core.groups.Tuple.tuple(SESSION, "session-1", "SoFA session"),
            org.assertj.core.groups.Tuple.tuple(SESSION, "session-2", "another display"));
    assertThat(FhirResourceRepository.sessionOf(current)).isPresent();
    assertThat(json.apply(repo.vread("Patient", id, "2").orElseThrow())).isEqualTo(json.apply(current));
    List<Resource> found = repo.search("Patient", SearchCriteria.builder().sessionTag("session-1").build());
    assertThat(found).hasSize(1);
    assertThat(json.apply(found.get(0))).isEqualTo(json.apply(current));

    // only the tag tagSession writes: the case a repository may keep apart
    Patient q = patient("Lavoie");
    FhirResourceRepository.tagSession(q, "session-3");
    String qid = id(repo.create(q));
    Resource q1 = repo.read("Patient", qid).orElseThrow();
    assertThat(q1.getMeta().getTag()).extracting(Coding::getSystem, Coding::getCode, Coding::getDisplay)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(SESSION, "session-3", "SoFA session"));
    assertThat(FhirResourceRepository.sessionOf(q1)).contains("session-3");
    ((Patient) q1).setActive(true);
    repo.update(q1);
    Resource q2 = repo.read("Patient", qid).orElseThrow();
    assertThat(q2.getMeta().getVersionId()).isEqualTo("2");
    assertThat(repo.vread("Patient", qid, "1").orElseThrow().getMeta().getTag()).extracting(Coding::getCode)
        .containsExactly("session-3");
    assertThat(json.apply(repo.search("Patient", SearchCriteria.builder().sessionTag("session-3").build()).get(0)))
        .isEqualTo(json.apply(q2));
    assertThat(json.apply(repo.vread("Patient", qid, "2").orElseThrow())).isEqualTo(json.apply(q2));
  }

  @Test
  void create_twice_distinctIds() {
    String a = id(repo.create(patient("A")));
    String b = id(repo.create(patient("A")));
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void create_richResource_readBackDeepEqual() {
    Patient p = patient("Côté");
    p.getBirthDateElement().setValueAsString("1980-02-29");
    p.getBirthDateElement().addExtension(new Extension("http://example.org/precision",
        new StringType("day")));
    p.addName().addGiven("Zoë").addGiven("名");
    Medication contained = new Medication();
    contained.setId("med1");
    contained.setCode(new CodeableConcept(new Coding("http://www.nlm.nih.gov/research/umls/rxnorm",
        "1049502", "12 HR Oxycodone")));
    MedicationRequest mr = new MedicationRequest();
    mr.getContained().add(contained);
    mr.setMedication(new Reference("#med1"));
    mr.setSubject(new Reference("Patient/x"));
    mr.addDosageInstruction().addDoseAndRate().setDose(new Quantity().setValue(
        new java.math.BigDecimal("2.50")).setUnit("mg"));

    Resource storedP = repo.create(p);
    Resource storedMr = repo.create(mr);

    Patient readP = (Patient) repo.read("Patient", id(storedP)).orElseThrow();
    assertThat(readP.equalsDeep(storedP)).isTrue();
    assertThat(readP.getBirthDateElement().getExtension()).hasSize(1);
    MedicationRequest readMr = (MedicationRequest) repo.read("MedicationRequest", id(storedMr))
        .orElseThrow();
    assertThat(readMr.equalsDeep(storedMr)).isTrue();
    assertThat(readMr.getDosageInstructionFirstRep().getDoseAndRateFirstRep().getDoseQuantity()
        .getValueElement().getValueAsString()).isEqualTo("2.50");
  }

  @Test
  void create_sessionTagWithoutCode_422AndNothingStored() {
    Patient p = patient("A");
    p.getMeta().addTag().setSystem(SESSION);

    assertThatThrownBy(() -> repo.create(p))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(422));
    assertThat(all("Patient")).isEmpty();
  }

  @Test
  void read_unknownIdOrOtherType_empty() {
    String id = id(repo.create(patient("A")));

    assertThat(repo.read("Patient", "0123456789abcdef01234567")).isEmpty();
    assertThat(repo.read("Observation", id)).isEmpty();
  }

  @Test
  void vread_eachVersion_thatVersionsContent() {
    String id = id(repo.create(patient("v1")));
    clock.advance(Duration.ofSeconds(1));
    repo.update(withId(patient("v2"), id));
    clock.advance(Duration.ofSeconds(1));
    repo.update(withId(patient("v3"), id));

    for (int v = 1; v <= 3; v++) {
      Patient p = (Patient) repo.vread("Patient", id, Integer.toString(v)).orElseThrow();
      assertThat(p.getNameFirstRep().getFamily()).isEqualTo("v" + v);
      assertThat(p.getMeta().getVersionId()).isEqualTo(Integer.toString(v));
      assertThat(p.getMeta().getLastUpdated()).isEqualTo(Date.from(START.plusSeconds(v - 1)));
    }
    assertThat(((Patient) repo.read("Patient", id).orElseThrow()).getNameFirstRep().getFamily())
        .isEqualTo("v3");
  }

  @Test
  void vread_unknownOrMalformedVersion_empty() {
    String id = id(repo.create(patient("A")));

    assertThat(repo.vread("Patient", id, "2")).isEmpty();
    assertThat(repo.vread("Patient", id, "0")).isEmpty();
    assertThat(repo.vread("Patient", id, "one")).isEmpty();
    assertThat(repo.vread("Patient", id, "")).isEmpty();
    assertThat(repo.vread("Observation", id, "1")).isEmpty();
    assertThat(repo.vread("Patient", "0123456789abcdef01234567", "1")).isEmpty();
  }

  @Test
  void update_pastMaxVersions_oldestDropped() {
    FhirResourceRepository small = newRepository(CTX, clock, 3);
    String id = id(small.create(patient("v1")));
    for (int v = 2; v <= 5; v++) {
      small.update(withId(patient("v" + v), id));
    }

    assertThat(small.vread("Patient", id, "1")).isEmpty();
    assertThat(small.vread("Patient", id, "2")).isEmpty();
    for (int v = 3; v <= 5; v++) {
      assertThat(family(small.vread("Patient", id, Integer.toString(v)).orElseThrow()))
          .isEqualTo("v" + v);
    }
    assertThat(small.read("Patient", id).orElseThrow().getMeta().getVersionId()).isEqualTo("5");
  }

  // ---- update, updateExisting, delete

  @Test
  void update_unknownId_createsVersion1UnderThatId() {
    Resource stored = repo.update(withId(patient("A"), "emr-chosen-1"));

    assertThat(stored.getIdElement().getIdPart()).isEqualTo("emr-chosen-1");
    assertThat(stored.getMeta().getVersionId()).isEqualTo("1");
    assertThat(family(repo.read("Patient", "emr-chosen-1").orElseThrow())).isEqualTo("A");
  }

  @Test
  void update_existing_nextVersionNewLastUpdated() {
    String id = id(repo.create(patient("A")));
    clock.advance(Duration.ofMinutes(5));
    Patient next = withId(patient("B"), id);
    next.setIdElement(next.getIdElement().withVersion("99")); // a version in the id is ignored
    next.getMeta().setVersionId("42");

    Resource stored = repo.update(next);

    assertThat(stored.getIdElement().getIdPart()).isEqualTo(id);
    assertThat(stored.getMeta().getVersionId()).isEqualTo("2");
    assertThat(stored.getMeta().getLastUpdated()).isEqualTo(Date.from(START.plusSeconds(300)));
    Resource read = repo.read("Patient", id).orElseThrow();
    assertThat(family(read)).isEqualTo("B");
    assertThat(read.getMeta().getVersionId()).isEqualTo("2");
    assertThat(next.getMeta().getVersionId()).isEqualTo("42"); // the argument is not changed
  }

  @Test
  void update_withoutId_400() {
    assertThatThrownBy(() -> repo.update(patient("A")))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(400));
    assertThatThrownBy(() -> repo.updateExisting(patient("A")))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(400));
  }

  @Test
  void updateExisting_existing_nextVersion() {
    String id = id(repo.create(patient("A")));

    Optional<Resource> stored = repo.updateExisting(withId(patient("B"), id));

    assertThat(stored).isPresent();
    assertThat(stored.get().getMeta().getVersionId()).isEqualTo("2");
    assertThat(family(repo.read("Patient", id).orElseThrow())).isEqualTo("B");
  }

  @Test
  void updateExisting_unknown_emptyAndNothingStored() {
    assertThat(repo.updateExisting(withId(patient("A"), "never-created"))).isEmpty();
    assertThat(repo.read("Patient", "never-created")).isEmpty();
    assertThat(all("Patient")).isEmpty();
  }

  @Test
  void updateExisting_afterDelete_emptyAndNotRecreated() {
    String id = id(repo.create(patient("A")));
    assertThat(repo.delete("Patient", id)).isTrue();

    assertThat(repo.updateExisting(withId(patient("B"), id))).isEmpty();
    assertThat(repo.read("Patient", id)).isEmpty();
  }

  @Test
  void delete_existing_trueThenGoneWithItsHistory() {
    String id = id(repo.create(patient("A")));
    repo.update(withId(patient("B"), id));

    assertThat(repo.delete("Patient", id)).isTrue();

    assertThat(repo.read("Patient", id)).isEmpty();
    assertThat(repo.vread("Patient", id, "1")).isEmpty();
    assertThat(repo.vread("Patient", id, "2")).isEmpty();
    assertThat(all("Patient")).isEmpty();
    assertThat(repo.delete("Patient", id)).isFalse();
  }

  @Test
  void delete_unknownOrOtherType_falseAndNothingRemoved() {
    String id = id(repo.create(patient("A")));

    assertThat(repo.delete("Patient", "0123456789abcdef01234567")).isFalse();
    assertThat(repo.delete("Observation", id)).isFalse();
    assertThat(repo.read("Patient", id)).isPresent();
  }

  @Test
  void update_afterDelete_startsAgainAtVersion1() {
    String id = id(repo.create(patient("A")));
    repo.update(withId(patient("B"), id));
    repo.delete("Patient", id);

    Resource again = repo.update(withId(patient("C"), id));

    assertThat(again.getMeta().getVersionId()).isEqualTo("1");
    assertThat(repo.vread("Patient", id, "2")).isEmpty();
    assertThat(family(repo.vread("Patient", id, "1").orElseThrow())).isEqualTo("C");
  }

  // ---- copies

  @Test
  void returnedResources_changed_storedUnchanged() {
    Patient in = patient("A");
    Resource created = repo.create(in);
    String id = id(created);
    in.getNameFirstRep().setFamily("changed-argument");
    ((Patient) created).getNameFirstRep().setFamily("changed-create");
    ((Patient) repo.read("Patient", id).orElseThrow()).getNameFirstRep().setFamily("changed-read");
    ((Patient) repo.vread("Patient", id, "1").orElseThrow()).getNameFirstRep().setFamily("x");
    ((Patient) all("Patient").get(0)).getNameFirstRep().setFamily("changed-search");

    assertThat(family(repo.read("Patient", id).orElseThrow())).isEqualTo("A");
    assertThat(family(repo.vread("Patient", id, "1").orElseThrow())).isEqualTo("A");

    Patient next = withId(patient("B"), id);
    Resource updated = repo.update(next);
    next.getNameFirstRep().setFamily("changed-argument");
    ((Patient) updated).getNameFirstRep().setFamily("changed-update");
    Resource updatedAgain = repo.updateExisting(withId(patient("C"), id)).orElseThrow();
    ((Patient) updatedAgain).getNameFirstRep().setFamily("changed-update-existing");

    assertThat(family(repo.read("Patient", id).orElseThrow())).isEqualTo("C");
    assertThat(family(repo.vread("Patient", id, "2").orElseThrow())).isEqualTo("B");
  }

  // ---- search

  @Test
  void search_all_onlyThatType() {
    String p = id(repo.create(patient("A")));
    String o = id(repo.create(observation(p, null)));

    assertThat(ids(all("Patient"))).containsExactly(p);
    assertThat(ids(all("Observation"))).containsExactly(o);
    assertThat(all("Encounter")).isEmpty();
  }

  @Test
  void search_byId_thatResourceOnly() {
    String a = id(repo.create(patient("A")));
    repo.create(patient("B"));

    assertThat(ids(repo.search("Patient", SearchCriteria.builder().id(a).build())))
        .containsExactly(a);
    assertThat(repo.search("Observation", SearchCriteria.builder().id(a).build())).isEmpty();
    assertThat(repo.search("Patient", SearchCriteria.builder().id("nope").build())).isEmpty();
  }

  @Test
  void search_byPatient_compartmentBySubjectPatientAndItself() {
    String p1 = id(repo.create(patient("One")));
    String p2 = id(repo.create(patient("Two")));
    String o1 = id(repo.create(observation(p1, null)));
    repo.create(observation(p2, null));
    AllergyIntolerance ai = new AllergyIntolerance();
    ai.setPatient(new Reference("Patient/" + p1));
    String a1 = id(repo.create(ai));

    SearchCriteria ofP1 = SearchCriteria.builder().patient("Patient/" + p1).build();
    assertThat(ids(repo.search("Observation", ofP1))).containsExactly(o1);
    assertThat(ids(repo.search("AllergyIntolerance", ofP1))).containsExactly(a1);
    assertThat(ids(repo.search("Patient", ofP1))).containsExactly(p1);
    assertThat(repo.search("Observation", SearchCriteria.builder().patient("Patient/none")
        .build())).isEmpty();
  }

  @Test
  void search_byEncounter_thoseOfThatEncounter() {
    String p = id(repo.create(patient("A")));
    String e1 = id(repo.create(encounter(p)));
    String e2 = id(repo.create(encounter(p)));
    String o1 = id(repo.create(observation(p, e1)));
    repo.create(observation(p, e2));
    repo.create(observation(p, null));

    assertThat(ids(repo.search("Observation", SearchCriteria.builder().encounter("Encounter/" + e1)
        .build()))).containsExactly(o1);
  }

  @Test
  void search_byIdentifier_systemAndValueOrValueOnly() {
    Patient a = patient("A");
    a.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-1");
    Patient b = patient("B");
    b.addIdentifier().setSystem("urn:other").setValue("MRN-1");
    Patient c = patient("C");
    c.addIdentifier().setValue("MRN-1"); // no system
    Patient d = patient("D");
    d.addIdentifier().setSystem("urn:emr:mrn").setValue("MRN-2");
    d.addIdentifier().setSystem("urn:emr:hcn").setValue("9876");
    String ia = id(repo.create(a));
    String ib = id(repo.create(b));
    String ic = id(repo.create(c));
    String id = id(repo.create(d));

    assertThat(ids(byIdentifier("urn:emr:mrn", "MRN-1"))).containsExactly(ia);
    assertThat(ids(byIdentifier(null, "MRN-1"))).containsExactlyInAnyOrder(ia, ib, ic);
    assertThat(ids(byIdentifier("", "MRN-1"))).containsExactly(ic);
    assertThat(ids(byIdentifier("urn:emr:hcn", "9876"))).containsExactly(id);
    assertThat(byIdentifier("urn:emr:mrn", "9876")).isEmpty(); // system and value of one identifier
    assertThat(byIdentifier(null, "MRN")).isEmpty();
  }

  @Test
  void search_byIdentifierValueOnly_matchesTheWholeValue() {
    Patient a = patient("A");
    a.addIdentifier().setSystem("urn:emr:mrn").setValue("x|y");
    Patient b = patient("B");
    b.addIdentifier().setSystem("urn:emr:mrn"); // a system without a value
    String ia = id(repo.create(a));
    repo.create(b);

    assertThat(ids(byIdentifier(null, "x|y"))).containsExactly(ia);
    assertThat(byIdentifier(null, "y")).isEmpty();
    assertThat(byIdentifier("urn:emr:mrn", "null")).isEmpty();
    assertThat(byIdentifier("urn:emr:mrn", "")).isEmpty();
  }

  @Test
  void search_byLastUpdated_boundsInclusive() {
    String t0 = id(repo.create(patient("t0")));
    clock.advance(Duration.ofMinutes(1));
    String t1 = id(repo.create(patient("t1")));
    clock.advance(Duration.ofMinutes(1));
    String t2 = id(repo.create(patient("t2")));
    Instant at1 = START.plusSeconds(60);

    assertThat(ids(repo.search("Patient", SearchCriteria.builder().lastUpdatedFrom(at1).build())))
        .containsExactlyInAnyOrder(t1, t2);
    assertThat(ids(repo.search("Patient", SearchCriteria.builder().lastUpdatedTo(at1).build())))
        .containsExactlyInAnyOrder(t0, t1);
    assertThat(ids(repo.search("Patient", SearchCriteria.builder().lastUpdatedFrom(at1)
        .lastUpdatedTo(at1).build()))).containsExactly(t1);
    assertThat(repo.search("Patient", SearchCriteria.builder()
        .lastUpdatedFrom(START.plusSeconds(121)).build())).isEmpty();
  }

  @Test
  void search_byLastUpdated_followsTheCurrentVersion() {
    String id = id(repo.create(patient("A")));
    clock.advance(Duration.ofHours(1));
    repo.update(withId(patient("B"), id));

    assertThat(repo.search("Patient", SearchCriteria.builder().lastUpdatedTo(START.plusSeconds(1))
        .build())).isEmpty();
    assertThat(ids(repo.search("Patient", SearchCriteria.builder()
        .lastUpdatedFrom(START.plusSeconds(3600)).build()))).containsExactly(id);
  }

  @Test
  void search_lastUpdatedBoundEqualToTheStoredMetaLastUpdated_found() {
    clock.advance(Duration.ofNanos(123_456)); // a clock finer than FHIR's milliseconds
    Resource stored = repo.create(patient("A"));
    Instant shown = stored.getMeta().getLastUpdated().toInstant();

    assertThat(ids(repo.search("Patient", SearchCriteria.builder().lastUpdatedFrom(shown)
        .lastUpdatedTo(shown).build()))).containsExactly(id(stored));
  }

  @Test
  void search_bySessionTag_thatSessionsOnly() {
    String a1 = id(repo.create(tagged(patient("A1"), "session-a")));
    String a2 = id(repo.create(tagged(observation("x", null), "session-a")));
    repo.create(tagged(patient("B1"), "session-b"));
    repo.create(patient("untagged"));

    SearchCriteria a = SearchCriteria.builder().sessionTag("session-a").build();
    assertThat(ids(repo.search("Patient", a))).containsExactly(a1);
    assertThat(ids(repo.search("Observation", a))).containsExactly(a2);
    assertThat(repo.search("Patient", SearchCriteria.builder().sessionTag("none").build()))
        .isEmpty();
  }

  @Test
  void search_criteriaCombined_and() {
    String p1 = id(repo.create(patient("One")));
    String p2 = id(repo.create(patient("Two")));
    String e1 = id(repo.create(encounter(p1)));
    Observation hit = observation(p1, e1);
    hit.addIdentifier().setSystem("urn:lab").setValue("L-1");
    String h = id(repo.create(tagged(hit, "s1")));
    Observation otherSession = observation(p1, e1);
    otherSession.addIdentifier().setSystem("urn:lab").setValue("L-1");
    repo.create(tagged(otherSession, "s2"));
    Observation otherPatient = observation(p2, e1);
    otherPatient.addIdentifier().setSystem("urn:lab").setValue("L-1");
    repo.create(tagged(otherPatient, "s1"));
    Observation noEncounter = observation(p1, null);
    noEncounter.addIdentifier().setSystem("urn:lab").setValue("L-1");
    repo.create(tagged(noEncounter, "s1"));
    clock.advance(Duration.ofMinutes(10));
    Observation later = observation(p1, e1);
    later.addIdentifier().setSystem("urn:lab").setValue("L-1");
    repo.create(tagged(later, "s1"));

    SearchCriteria c = SearchCriteria.builder().patient("Patient/" + p1)
        .encounter("Encounter/" + e1).identifier("urn:lab", "L-1").sessionTag("s1")
        .lastUpdatedFrom(START).lastUpdatedTo(START.plusSeconds(60)).build();
    assertThat(ids(repo.search("Observation", c))).containsExactly(h);
    assertThat(ids(repo.search("Observation", SearchCriteria.builder().id(h)
        .patient("Patient/" + p1).build()))).containsExactly(h);
    assertThat(repo.search("Observation", SearchCriteria.builder().id(h)
        .patient("Patient/" + p2).build())).isEmpty();
  }

  @Test
  void search_limit_stopsThere() {
    for (int i = 0; i < 7; i++) {
      repo.create(patient("P" + i));
    }

    assertThat(repo.search("Patient", SearchCriteria.builder().limit(3).build())).hasSize(3);
    assertThat(repo.search("Patient", SearchCriteria.builder().limit(7).build())).hasSize(7);
    assertThat(repo.search("Patient", SearchCriteria.builder().limit(8).build())).hasSize(7);
    assertThat(ids(repo.search("Patient", SearchCriteria.builder().limit(3).build())))
        .doesNotHaveDuplicates();
  }

  @Test
  void search_sessionFilter_appliedBeforeTheLimit() {
    for (int i = 0; i < 30; i++) {
      repo.create(tagged(patient("other" + i), "other-session"));
    }
    Set<String> mine = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      mine.add(id(repo.create(tagged(patient("mine" + i), "my-session"))));
    }
    for (int i = 0; i < 30; i++) {
      repo.create(tagged(patient("more" + i), "other-session"));
    }

    List<Resource> found = repo.search("Patient", SearchCriteria.builder()
        .sessionFilter("my-session"::equals).limit(3).build());

    assertThat(ids(found)).containsExactlyInAnyOrderElementsOf(mine);
    assertThat(repo.search("Patient", SearchCriteria.builder()
        .sessionFilter("my-session"::equals).limit(2).build())).hasSize(2)
        .allSatisfy(r -> assertThat(mine).contains(id(r)));
  }

  @Test
  void search_sessionFilter_untaggedDataIsNull() {
    String plain = id(repo.create(patient("server data")));
    String inSession = id(repo.create(tagged(patient("session data"), "s1")));
    repo.create(tagged(patient("elsewhere"), "s2"));
    List<String> seen = new ArrayList<>();

    List<Resource> found = repo.search("Patient", SearchCriteria.builder().sessionFilter(s -> {
      synchronized (seen) {
        seen.add(String.valueOf(s));
      }
      return s == null || s.equals("s1");
    }).build());

    assertThat(ids(found)).containsExactlyInAnyOrder(plain, inSession);
    assertThat(seen).contains("null", "s1", "s2");
  }

  @Test
  void search_afterUpdateAndDelete_indexesFollow() {
    String p1 = id(repo.create(patient("One")));
    String p2 = id(repo.create(patient("Two")));
    String o = id(repo.create(tagged(observation(p1, null), "s1")));

    repo.update(withId(tagged(observation(p2, null), "s2"), o));

    assertThat(repo.search("Observation", SearchCriteria.builder().patient("Patient/" + p1)
        .build())).isEmpty();
    assertThat(ids(repo.search("Observation", SearchCriteria.builder().patient("Patient/" + p2)
        .build()))).containsExactly(o);
    assertThat(repo.search("Observation", SearchCriteria.builder().sessionTag("s1").build()))
        .isEmpty();
    assertThat(ids(repo.search("Observation", SearchCriteria.builder().sessionTag("s2").build())))
        .containsExactly(o);

    repo.delete("Observation", o);

    assertThat(repo.search("Observation", SearchCriteria.builder().patient("Patient/" + p2)
        .build())).isEmpty();
    assertThat(repo.search("Observation", SearchCriteria.builder().sessionTag("s2").build()))
        .isEmpty();
    assertThat(all("Observation")).isEmpty();
  }

  // ---- transaction

  @Test
  void transaction_posts_newIdsAndResponseEntriesInOrder() {
    Bundle tx = transaction();
    post(tx, "urn:uuid:p", patient("A"));
    post(tx, "urn:uuid:o", observation("urn:uuid:p", null));

    Bundle resp = repo.transaction(tx);

    assertThat(resp.getType()).isEqualTo(Bundle.BundleType.TRANSACTIONRESPONSE);
    assertThat(resp.getEntry()).hasSize(2);
    assertThat(resp.getEntry().get(0).getResponse().getLocation())
        .matches("Patient/[0-9a-f]{24}/_history/1");
    assertThat(resp.getEntry().get(1).getResponse().getLocation())
        .matches("Observation/[0-9a-f]{24}/_history/1");
    assertThat(resp.getEntry()).allSatisfy(e -> {
      assertThat(e.getResponse().getStatus()).startsWith("201");
      assertThat(e.getResponse().getEtag()).isEqualTo("W/\"1\"");
      assertThat(e.getResponse().getLastModified()).isEqualTo(Date.from(START));
    });
    String patientId = locationId(resp, 0);
    Resource p = repo.read("Patient", patientId).orElseThrow();
    assertThat(p.getMeta().getVersionId()).isEqualTo("1");
    assertThat(p.getMeta().getLastUpdated()).isEqualTo(Date.from(START));
  }

  @Test
  void transaction_urnUuidReferences_rewrittenToTheNewIds() {
    Bundle tx = transaction();
    post(tx, "urn:uuid:11111111-1111-1111-1111-111111111111", patient("A"));
    post(tx, "urn:uuid:22222222-2222-2222-2222-222222222222",
        encounter("urn:uuid:11111111-1111-1111-1111-111111111111"));
    // an entry may point forward, to an entry that follows it
    Observation o = observation("urn:uuid:11111111-1111-1111-1111-111111111111",
        "urn:uuid:22222222-2222-2222-2222-222222222222");
    o.addHasMember(new Reference("urn:uuid:33333333-3333-3333-3333-333333333333"));
    post(tx, "urn:uuid:44444444-4444-4444-4444-444444444444", o);
    post(tx, "urn:uuid:33333333-3333-3333-3333-333333333333",
        observation("urn:uuid:11111111-1111-1111-1111-111111111111", null));

    Bundle resp = repo.transaction(tx);

    String p = locationId(resp, 0);
    String e = locationId(resp, 1);
    String member = locationId(resp, 3);
    Observation stored = (Observation) repo.read("Observation", locationId(resp, 2)).orElseThrow();
    assertThat(stored.getSubject().getReference()).isEqualTo("Patient/" + p);
    assertThat(stored.getEncounter().getReference()).isEqualTo("Encounter/" + e);
    assertThat(stored.getHasMemberFirstRep().getReference()).isEqualTo("Observation/" + member);
    assertThat(stored.getContained()).isEmpty();
    // and the indexes see the rewritten references
    assertThat(repo.search("Observation", SearchCriteria.builder().patient("Patient/" + p)
        .encounter("Encounter/" + e).build())).hasSize(1);
    assertThat(repo.search("Observation", SearchCriteria.builder().patient("Patient/" + p)
        .build())).hasSize(2);
  }

  @Test
  void transaction_argument_unchanged() {
    Bundle tx = transaction();
    post(tx, "urn:uuid:p", patient("A"));
    post(tx, "urn:uuid:o", observation("urn:uuid:p", null));
    String before = CTX.newJsonParser().encodeResourceToString(tx);

    repo.transaction(tx);

    assertThat(CTX.newJsonParser().encodeResourceToString(tx)).isEqualTo(before);
  }

  @Test
  void transaction_danglingUrnUuid_400AndNothingStored() {
    Bundle tx = transaction();
    post(tx, "urn:uuid:p", patient("A"));
    post(tx, "urn:uuid:e", encounter("urn:uuid:p"));
    post(tx, "urn:uuid:o", observation("urn:uuid:p", "urn:uuid:not-in-this-bundle"));

    assertRefused(tx, 400);
    assertNothingStored();
  }

  @Test
  void transaction_putToAnUnknownOrMismatchedType_400AndNothingStored() {
    for (String url : List.of("Patinet/p-1", "Observation/p-1", "Patient", "Patient/p-1/x")) {
      Bundle tx = transaction();
      post(tx, "urn:uuid:p", patient("A"));
      put(tx, url, patient("B"));

      assertRefused(tx, 400);
      assertNothingStored();
    }
  }

  @Test
  void transaction_entryFailingAfterOthers_nothingWrittenNothingDeleted() {
    String kept = id(repo.create(patient("kept")));
    String updated = id(repo.create(patient("v1")));
    Patient bad = patient("bad");
    bad.getMeta().addTag().setSystem(SESSION); // a session tag without a code: 422
    Bundle tx = transaction();
    post(tx, "urn:uuid:p", patient("A"));
    delete(tx, "Patient/" + kept);
    put(tx, "Patient/" + updated, patient("v2"));
    put(tx, "Patient/brand-new", patient("new"));
    put(tx, "Patient/bad-one", bad);

    assertRefused(tx, 422);

    assertThat(family(repo.read("Patient", kept).orElseThrow())).isEqualTo("kept");
    Resource u = repo.read("Patient", updated).orElseThrow();
    assertThat(family(u)).isEqualTo("v1");
    assertThat(u.getMeta().getVersionId()).isEqualTo("1");
    assertThat(repo.vread("Patient", updated, "2")).isEmpty();
    assertThat(repo.read("Patient", "brand-new")).isEmpty();
    assertThat(ids(all("Patient"))).containsExactlyInAnyOrder(kept, updated);
  }

  @Test
  void transaction_putAndDelete_versionsAndStatuses() {
    String existing = id(repo.create(patient("v1")));
    String doomed = id(repo.create(patient("doomed")));
    clock.advance(Duration.ofSeconds(30));
    Bundle tx = transaction();
    put(tx, "Patient/" + existing, patient("v2"));
    put(tx, "Patient/emr-42", patient("new"));
    delete(tx, "Patient/" + doomed);
    delete(tx, "Patient/never-was");
    post(tx, "urn:uuid:o", observation("Patient/emr-42", null));

    Bundle resp = repo.transaction(tx);

    assertThat(resp.getEntry()).hasSize(5);
    BundleEntryComponent e0 = resp.getEntry().get(0);
    assertThat(e0.getResponse().getStatus()).startsWith("200");
    assertThat(e0.getResponse().getLocation()).isEqualTo("Patient/" + existing + "/_history/2");
    assertThat(e0.getResponse().getEtag()).isEqualTo("W/\"2\"");
    assertThat(e0.getResponse().getLastModified()).isEqualTo(Date.from(START.plusSeconds(30)));
    BundleEntryComponent e1 = resp.getEntry().get(1);
    assertThat(e1.getResponse().getStatus()).startsWith("201");
    assertThat(e1.getResponse().getLocation()).isEqualTo("Patient/emr-42/_history/1");
    assertThat(resp.getEntry().get(2).getResponse().getStatus()).startsWith("204");
    assertThat(resp.getEntry().get(3).getResponse().getStatus()).startsWith("404");
    assertThat(resp.getEntry().get(4).getResponse().getStatus()).startsWith("201");

    assertThat(family(repo.read("Patient", existing).orElseThrow())).isEqualTo("v2");
    assertThat(family(repo.vread("Patient", existing, "1").orElseThrow())).isEqualTo("v1");
    assertThat(family(repo.read("Patient", "emr-42").orElseThrow())).isEqualTo("new");
    assertThat(repo.read("Patient", doomed)).isEmpty();
    assertThat(ids(repo.search("Observation", SearchCriteria.builder().patient("Patient/emr-42")
        .build()))).containsExactly(locationId(resp, 4));
  }

  @Test
  void transaction_putReferencingAPost_rewritten() {
    Bundle tx = transaction();
    post(tx, "urn:uuid:p", patient("A"));
    put(tx, "Observation/emr-obs-1", observation("urn:uuid:p", null));

    Bundle resp = repo.transaction(tx);

    Observation o = (Observation) repo.read("Observation", "emr-obs-1").orElseThrow();
    assertThat(o.getSubject().getReference()).isEqualTo("Patient/" + locationId(resp, 0));
  }

  @Test
  void transaction_malformed_400AndNothingStored() {
    Bundle batch = new Bundle().setType(Bundle.BundleType.BATCH);
    post(batch, "urn:uuid:p", patient("A"));
    assertRefused(batch, 400);

    Bundle noMethod = transaction();
    post(noMethod, "urn:uuid:p", patient("A"));
    noMethod.addEntry().setFullUrl("urn:uuid:q").setResource(patient("B"));
    assertRefused(noMethod, 400);

    Bundle twiceFullUrl = transaction();
    post(twiceFullUrl, "urn:uuid:p", patient("A"));
    post(twiceFullUrl, "urn:uuid:p", patient("B"));
    assertRefused(twiceFullUrl, 400);

    Bundle twiceTarget = transaction();
    put(twiceTarget, "Patient/x", patient("A"));
    delete(twiceTarget, "Patient/x");
    assertRefused(twiceTarget, 400);

    // one resource under two spellings of its URL (a trailing slash) is still named twice
    Bundle twiceSpelled = transaction();
    put(twiceSpelled, "Patient/x", patient("A"));
    put(twiceSpelled, "Patient/x/", patient("B"));
    assertRefused(twiceSpelled, 400);

    Bundle twiceSpelledDelete = transaction();
    put(twiceSpelledDelete, "Patient/x/", patient("A"));
    delete(twiceSpelledDelete, "Patient/x");
    assertRefused(twiceSpelledDelete, 400);

    Bundle get = transaction();
    post(get, "urn:uuid:p", patient("A"));
    get.addEntry().getRequest().setMethod(HTTPVerb.GET).setUrl("Patient/x");
    assertRefused(get, 400);

    Bundle postWithoutResource = transaction();
    postWithoutResource.addEntry().getRequest().setMethod(HTTPVerb.POST).setUrl("Patient");
    assertRefused(postWithoutResource, 400);

    assertNothingStored();
  }

  @Test
  void transaction_empty_emptyResponse() {
    Bundle resp = repo.transaction(transaction());

    assertThat(resp.getType()).isEqualTo(Bundle.BundleType.TRANSACTIONRESPONSE);
    assertThat(resp.getEntry()).isEmpty();
  }

  // ---- concurrency

  @Test
  void update_concurrentOnOneResource_distinctConsecutiveVersions() throws Exception {
    String id = id(repo.create(patient("start")));
    int n = 12;
    List<Integer> workers = IntStream.range(0, n).boxed().collect(Collectors.toList());

    List<Resource> results = together(n, i -> repo.update(withId(patient("w" + i), id)));

    Map<String, String> familyByVersion = new HashMap<>();
    for (Resource r : results) {
      familyByVersion.put(r.getMeta().getVersionId(), family(r));
    }
    assertThat(familyByVersion.keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.rangeClosed(2, n + 1).mapToObj(Integer::toString).collect(Collectors.toList()));
    assertThat(familyByVersion.values()).containsExactlyInAnyOrderElementsOf(
        workers.stream().map(i -> "w" + i).collect(Collectors.toList()));
    for (Map.Entry<String, String> e : familyByVersion.entrySet()) {
      assertThat(family(repo.vread("Patient", id, e.getKey()).orElseThrow()))
          .isEqualTo(e.getValue());
    }
    Resource last = repo.read("Patient", id).orElseThrow();
    assertThat(last.getMeta().getVersionId()).isEqualTo(Integer.toString(n + 1));
    assertThat(family(last)).isEqualTo(familyByVersion.get(Integer.toString(n + 1)));
  }

  @Test
  void updateExisting_concurrentOnOneResource_distinctConsecutiveVersions() throws Exception {
    String id = id(repo.create(patient("start")));
    int n = 12;

    List<Optional<Resource>> results = together(n,
        i -> repo.updateExisting(withId(patient("w" + i), id)));

    assertThat(results).allSatisfy(r -> assertThat(r).isPresent());
    assertThat(results.stream().map(r -> r.get().getMeta().getVersionId()))
        .containsExactlyInAnyOrderElementsOf(IntStream.rangeClosed(2, n + 1)
            .mapToObj(Integer::toString).collect(Collectors.toList()));
  }

  @Test
  void delete_racingUpdateExisting_neverRecreated() throws Exception {
    for (int round = 0; round < 25; round++) {
      String id = id(repo.create(tagged(observation("p", null), "s")));

      List<Object> results = together(2, i -> i == 0
          ? (Object) repo.delete("Observation", id)
          : repo.updateExisting(withId(tagged(observation("p", null), "s"), id)));

      assertThat(results.get(0)).isEqualTo(true);
      assertThat(repo.read("Observation", id)).isEmpty();
      assertThat(repo.search("Observation", SearchCriteria.builder().id(id).build())).isEmpty();
    }
    assertThat(all("Observation")).isEmpty();
  }

  @Test
  void transaction_concurrentPutsInOppositeOrders_allApplied() throws Exception {
    String a = id(repo.create(patient("a")));
    String b = id(repo.create(patient("b")));
    int n = 8;

    List<Bundle> results = together(n, i -> {
      Bundle tx = transaction();
      List<String> order = i % 2 == 0 ? List.of(a, b) : List.of(b, a);
      for (String id : order) {
        put(tx, "Patient/" + id, patient("w" + i));
      }
      post(tx, "urn:uuid:o", observation("Patient/" + a, null));
      return repo.transaction(tx);
    });

    assertThat(results).hasSize(n);
    assertThat(repo.read("Patient", a).orElseThrow().getMeta().getVersionId())
        .isEqualTo(Integer.toString(n + 1));
    assertThat(repo.read("Patient", b).orElseThrow().getMeta().getVersionId())
        .isEqualTo(Integer.toString(n + 1));
    assertThat(all("Observation")).hasSize(n);
    Set<String> locations = new HashSet<>();
    for (Bundle r : results) {
      for (BundleEntryComponent e : r.getEntry()) {
        locations.add(e.getResponse().getLocation());
      }
    }
    assertThat(locations).hasSize(3 * n); // every version of a and b, and each Observation, once
  }

  // ---- helpers for subclasses and tests

  protected static Patient patient(String family) {
    Patient p = new Patient();
    p.addName().setFamily(family);
    return p;
  }

  protected static Encounter encounter(String patientRef) {
    Encounter e = new Encounter();
    e.setStatus(Encounter.EncounterStatus.INPROGRESS);
    e.setSubject(new Reference(ref("Patient", patientRef)));
    return e;
  }

  /** An Observation of {@code patient} (an id, or a urn:uuid:), in {@code encounter} if given. */
  protected static Observation observation(String patient, String encounter) {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
    o.setSubject(new Reference(ref("Patient", patient)));
    if (encounter != null) {
      o.setEncounter(new Reference(ref("Encounter", encounter)));
    }
    o.setEffective(new DateTimeType("2026-01-01T08:00:00Z"));
    return o;
  }

  private static String ref(String type, String idOrRef) {
    return idOrRef.contains(":") || idOrRef.contains("/") ? idOrRef : type + "/" + idOrRef;
  }

  protected static <T extends Resource> T tagged(T r, String session) {
    r.getMeta().addTag(new Coding(SESSION, session, "SoFA session"));
    return r;
  }

  protected static <T extends Resource> T withId(T r, String id) {
    r.setId(id);
    return r;
  }

  protected static Bundle transaction() {
    return new Bundle().setType(Bundle.BundleType.TRANSACTION);
  }

  protected static void post(Bundle b, String fullUrl, Resource r) {
    b.addEntry().setFullUrl(fullUrl).setResource(r).getRequest().setMethod(HTTPVerb.POST)
        .setUrl(r.fhirType());
  }

  protected static void put(Bundle b, String url, Resource r) {
    b.addEntry().setResource(r).getRequest().setMethod(HTTPVerb.PUT).setUrl(url);
  }

  protected static void delete(Bundle b, String url) {
    b.addEntry().getRequest().setMethod(HTTPVerb.DELETE).setUrl(url);
  }

  protected static String id(Resource r) {
    return r.getIdElement().getIdPart();
  }

  protected static List<String> ids(List<Resource> rs) {
    return rs.stream().map(FhirResourceRepositoryContract::id).collect(Collectors.toList());
  }

  /** The id in response entry {@code i}'s location. */
  protected static String locationId(Bundle response, int i) {
    return response.getEntry().get(i).getResponse().getLocation().split("/")[1];
  }

  private static String family(Resource r) {
    return ((Patient) r).getNameFirstRep().getFamily();
  }

  protected List<Resource> all(String type) {
    return repo.search(type, SearchCriteria.all());
  }

  private List<Resource> byIdentifier(String system, String value) {
    return repo.search("Patient", SearchCriteria.builder().identifier(system, value).build());
  }

  private void assertRefused(Bundle tx, int status) {
    assertThatThrownBy(() -> repo.transaction(tx))
        .isInstanceOfSatisfying(FhirRepositoryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(status));
  }

  private void assertNothingStored() {
    for (String type : TYPES) {
      assertThat(all(type)).as(type).isEmpty();
    }
    assertThat(repo.read("Patient", "p-1")).isEmpty();
  }

  /** Runs {@code call(i)} for i in 0..n-1 on n threads released together; results in i order. */
  protected static <T> List<T> together(int n, IndexedCall<T> call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch ready = new CountDownLatch(n);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        fs.add(pool.submit((Callable<T>) () -> {
          ready.countDown();
          go.await();
          return call.call(k);
        }));
      }
      ready.await(10, TimeUnit.SECONDS);
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /** One worker of {@link #together}. */
  @FunctionalInterface
  protected interface IndexedCall<T> {
    T call(int i) throws Exception;
  }
}
