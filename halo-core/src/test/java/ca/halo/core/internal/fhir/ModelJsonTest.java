package ca.halo.core.internal.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.hl7.fhir.r4.model.Attachment;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Medication;
import org.hl7.fhir.r4.model.MedicationRequest;
import org.hl7.fhir.r4.model.Narrative;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.QuestionnaireResponse;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/**
 * {@link ModelJson} writes what HAPI's own parser writes: each resource is written by both, both
 * are read back with HAPI, and HAPI's encodings of the two readings must be the same string.
 */
class ModelJsonTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  /**
   * Reads both encodings and writes them again for the comparison. HAPI's reader links
   * {@code urn:uuid} references to the Bundle entries they name, and its writer would then try to
   * contain those targets (in a Parameters, which cannot hold contained resources): this
   * context's writer does not.
   */
  private static final FhirContext READER = FhirContext.forR4();

  static {
    READER.getParserOptions().setAutoContainReferenceTargetsWithNoId(false);
  }

  private static void assertSameAsHapi(Resource r) {
    Optional<byte[]> ours = ModelJson.write(r);
    assertThat(ours).as("%s/%s is written here", r.fhirType(), r.getIdPart()).isPresent();
    IParser read = READER.newJsonParser();
    String expected = read.encodeResourceToString(
        read.parseResource(CTX.newJsonParser().encodeResourceToString(r)));
    String actual = read.encodeResourceToString(
        read.parseResource(new String(ours.get(), StandardCharsets.UTF_8)));
    assertThat(actual).as("%s/%s", r.fhirType(), r.getIdPart()).isEqualTo(expected);
  }

  /** The specification's own definitions: every datatype, narratives, primitive extensions. */
  @Test
  void specificationResources_writtenAsHapiWritesThem() throws Exception {
    int checked = 0;
    for (String file : List.of("org/hl7/fhir/r4/model/profile/profiles-types.xml",
        "org/hl7/fhir/r4/model/extension/extension-definitions.xml",
        "org/hl7/fhir/r4/model/valueset/v3-codesystems.xml")) {
      Bundle b;
      try (InputStream in = getClass().getClassLoader().getResourceAsStream(file)) {
        assertThat(in).as(file).isNotNull();
        b = (Bundle) CTX.newXmlParser().parseResource(in);
      }
      for (Bundle.BundleEntryComponent e : b.getEntry()) {
        assertSameAsHapi(e.getResource());
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(500);
  }

  @Test
  void primitivesWithExtensionsInListsAndAlone_numbersBooleansNarrativeContained() {
    Patient p = new Patient();
    p.setId("http://emr.example/fhir/Patient/p1/_history/3");
    p.getMeta().addTag("urn:t", "x", "X").setLastUpdatedElement(
        new org.hl7.fhir.r4.model.InstantType("2026-12-01T10:00:00.123-05:00"));
    p.getText().setStatus(Narrative.NarrativeStatus.GENERATED)
        .setDivAsString("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Émile <b>Gagnon</b> &amp; co</p></div>");
    HumanName n = p.addName().setFamily("Gagnon");
    n.addGiven("Émile");
    StringType second = new StringType();
    second.addExtension("urn:ext:absent", new CodeableConcept().setText("unknown"));
    n.getGiven().add(second);
    n.addGiven("Jean").setId("g3");
    DateType birth = new DateType("1970-03");
    birth.addExtension(new Extension("http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        new org.hl7.fhir.r4.model.DateTimeType("1970-03-04T05:06:07Z")));
    p.setBirthDateElement(birth);
    p.setMultipleBirth(new IntegerType(2));
    p.setDeceased(new BooleanType(false));
    p.addPhoto(new Attachment().setContentType("image/png").setData(new byte[] {1, 2, 3, -1}));
    p.addExtension("urn:ext:weight", new Quantity().setValueElement(new DecimalType("70.50"))
        .setUnit("kg"));
    p.addExtension("urn:ext:big", new DecimalType(new BigDecimal("1.2E+3")));
    Medication med = new Medication();
    med.setId("#m1");
    med.getCode().setText("aspirin");
    MedicationRequest mr = new MedicationRequest();
    mr.setId("mr1");
    mr.addContained(med);
    mr.setMedication(new Reference("#m1"));
    mr.setSubject(new Reference("Patient/p1").setDisplay("Émile \"the\" Gagnon\n\t\u2028"));
    mr.addDosageInstruction().setSequence(1).getDoseAndRateFirstRep()
        .setDose(new Quantity(0.25).setUnit("mg"));
    assertSameAsHapi(p);
    assertSameAsHapi(mr);
  }

  @Test
  void parametersAndTransactionBundle_nestedResourcesAndParts() {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setSubject(new Reference("urn:uuid:1"));
    o.setValue(new Quantity(3.0).setSystem("http://unitsofmeasure.org").setCode("cm"));
    o.addComponent().setValue(new CodeableConcept().setText("c"));
    o.addComponent().setValue(new StringType("s"));
    Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    b.addEntry().setFullUrl("urn:uuid:1").setResource(new Patient().setActive(true)).getRequest()
        .setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    b.addEntry().setFullUrl("urn:uuid:2").setResource(o).getRequest()
        .setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    Parameters in = new Parameters();
    in.addParameter().setName("patient").setValue(new Reference("urn:uuid:1"));
    in.addParameter().setName("need_patient_banner").setValue(new BooleanType(true));
    in.addParameter().setName("resources").setResource(b);
    in.addParameter().setName("nested").addPart().setName("x").setValue(new IntegerType(-4));
    QuestionnaireResponse qr = new QuestionnaireResponse();
    qr.addItem().setLinkId("1").addItem().setLinkId("1.1").addAnswer()
        .setValue(new DecimalType("0.000001"));
    in.addParameter().setName("qr").setResource(qr);
    assertSameAsHapi(in);
  }

  @Test
  void referenceHoldingOnlyAResource_isLeftToHapi() {
    Encounter e = new Encounter();
    e.setSubject(new Reference(new Patient().setActive(true)));
    assertThat(ModelJson.write(e)).isEmpty();
    e.getSubject().setReference("Patient/1");
    assertThat(ModelJson.write(e)).as("HAPI contains the target even so").isEmpty();
    e.getSubject().setResource(null);
    assertSameAsHapi(e);
  }

  @Test
  void forEachReference_findsNestedAndContainedReferences() {
    MedicationRequest mr = new MedicationRequest();
    Medication m = new Medication();
    m.setId("m");
    m.getManufacturer().setReference("Organization/o");
    mr.addContained(m);
    mr.setSubject(new Reference("Patient/p"));
    mr.getSubject().getIdentifier().getAssigner().setReference("Organization/a");
    mr.addNote().setAuthor(new Reference("Practitioner/n"));
    List<String> found = new ArrayList<>();
    ModelJson.forEachReference(mr, r -> found.add(r.getReference()));
    assertThat(found).containsExactlyInAnyOrder("Organization/o", "Patient/p", "Organization/a",
        "Practitioner/n");
  }

  @Test
  void nestingDeeperThanAnyRealResource_isLeftToHapi_andReferencesAreStillFound() {
    QuestionnaireResponse qr = new QuestionnaireResponse();
    QuestionnaireResponse.QuestionnaireResponseItemComponent item = qr.addItem().setLinkId("0");
    for (int i = 1; i < 5_000; i++) {
      item = item.addItem().setLinkId(Integer.toString(i));
    }
    item.addAnswer().setValue(new Reference("Patient/deep"));
    assertThat(ModelJson.write(qr)).isEmpty();
    List<String> found = new ArrayList<>();
    ModelJson.forEachReference(qr, r -> found.add(r.getReference()));
    assertThat(found).containsExactly("Patient/deep");

    QuestionnaireResponse shallow = new QuestionnaireResponse();
    QuestionnaireResponse.QuestionnaireResponseItemComponent it = shallow.addItem().setLinkId("0");
    for (int i = 1; i < 50; i++) {
      it = it.addItem().setLinkId(Integer.toString(i));
    }
    assertSameAsHapi(shallow);
  }
}
