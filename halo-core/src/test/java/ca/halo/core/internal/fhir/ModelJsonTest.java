package ca.halo.core.internal.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
  /** Decimals as BigDecimal, so 70.50 and 70.5 differ, as they do on the wire. */
  private static final ObjectMapper EXACT = new ObjectMapper()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);

  /**
   * Ours and HAPI's raw encodings of {@code r} are the same JSON (member order aside), and ours
   * left {@code r} as it was (the model's getters create what they return).
   */
  private static void assertSameAsHapi(Resource r) {
    Resource pristine = r.copy();
    // the model's copy and equalsDeep do not agree on every filled element: check what they can
    boolean comparable = r.equalsDeep(pristine);
    Optional<byte[]> ours = ModelJson.write(r);
    assertThat(ours).as("%s/%s is written here", r.fhirType(), r.getIdPart()).isPresent();
    if (comparable) {
      assertThat(r.equalsDeep(pristine)).as("ModelJson changed the %s", r.fhirType()).isTrue();
    }
    // after ours: HAPI's encoder changes what it encodes (Bundle entries get their fullUrl as id)
    String hapi = CTX.newJsonParser().encodeResourceToString(r);
    assertThat(tree(new String(ours.get(), StandardCharsets.UTF_8)))
        .as("%s/%s\nours: %s\nHAPI: %s", r.fhirType(), r.getIdPart(),
            new String(ours.get(), StandardCharsets.UTF_8), hapi)
        .isEqualTo(tree(hapi));
  }

  private static JsonNode tree(String json) {
    try {
      return EXACT.readTree(json);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + json, e);
    }
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
    mr.setSubject(new Reference("Patient/p1").setDisplay("Émile \"the\" Gagnon\n\t\u2028 \uD83D\uDE00"));
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

  /**
   * Every R4 resource type with every element filled (three levels deep), each choice element
   * with each of its declared types in turn, some primitives with extensions: what ModelJson
   * writes is what HAPI writes, and it writes nearly all of them itself.
   */
  @Test
  void everyResourceType_everyElementFilled_writtenAsHapiWritesThem() {
    int written = 0;
    int all = 0;
    for (int variant = 0; variant < 4; variant++) {
      java.util.Random random = new java.util.Random(variant);
      for (String type : new java.util.TreeSet<>(CTX.getResourceTypes())) {
        Resource r = (Resource) CTX.getResourceDefinition(type).newInstance();
        fill(r, 0, variant, random);
        all++;
        if (ModelJson.write(r).isPresent()) {
          assertSameAsHapi(r);
          written++;
        }
      }
    }
    assertThat(written).as("written here, of %d", all).isGreaterThan(all * 9 / 10);
  }

  private static void fill(org.hl7.fhir.r4.model.Base b, int depth, int variant,
      java.util.Random random) {
    if (depth > 3) {
      return;
    }
    for (org.hl7.fhir.r4.model.Property p : b.children()) {
      String name = p.getName();
      String declared = p.getTypeCode();
      if (Set.of("id", "meta", "contained", "text", "extension", "modifierExtension",
          "implicitRules", "language").contains(name) || declared == null
          || declared.contains("Resource") || declared.equals("xhtml") || declared.startsWith("@")) {
        continue;
      }
      String[] types = declared.replaceAll("\\([^)]*\\)", "").split("\\|");
      String t = types[(variant + depth) % types.length].trim();
      if (t.equals("*")) {
        t = List.of("string", "Quantity", "CodeableConcept", "Age").get(variant);
      }
      if (t.equals("SimpleQuantity") || t.equals("MoneyQuantity")) {
        t = "Quantity";
      }
      String child = name.endsWith("[x]")
          ? name.substring(0, name.length() - 3) + Character.toUpperCase(t.charAt(0)) + t.substring(1)
          : name;
      org.hl7.fhir.r4.model.Base v;
      try {
        v = b.addChild(child);
      } catch (RuntimeException complexOnly) {
        try {
          v = b.makeProperty(child.hashCode(), child);
        } catch (RuntimeException e) {
          continue;
        }
      }
      if (v instanceof org.hl7.fhir.r4.model.PrimitiveType) {
        primitive((org.hl7.fhir.r4.model.PrimitiveType<?>) v, variant);
        if (variant >= 2 && random.nextInt(4) == 0 && !v.fhirType().equals("id")) {
          ((org.hl7.fhir.r4.model.Element) v).addExtension("urn:ext:x", new StringType("e"));
        }
      } else if (v instanceof Reference) {
        ((Reference) v).setReference("Patient/p" + depth).setDisplay("d");
      } else if (v != null) {
        fill(v, depth + 1, variant, random);
        if (variant == 3 && random.nextInt(5) == 0 && v instanceof org.hl7.fhir.r4.model.Element
            && !v.isEmpty()) {
          ((org.hl7.fhir.r4.model.Element) v).setId("e" + depth);
        }
      }
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void primitive(org.hl7.fhir.r4.model.PrimitiveType<?> p, int variant) {
    if (p instanceof org.hl7.fhir.r4.model.Enumeration) {
      org.hl7.fhir.r4.model.Enumeration e = (org.hl7.fhir.r4.model.Enumeration) p;
      try {
        Object[] codes = e.getEnumFactory().getClass().getMethod("fromCode", String.class)
            .getReturnType().getEnumConstants();
        e.setValue((Enum) codes[variant % codes.length]);
      } catch (ReflectiveOperationException | RuntimeException notThisOne) {
        e.setValueAsString("unknown");
      }
      return;
    }
    switch (p.fhirType()) {
      case "boolean": p.setValueAsString(variant % 2 == 0 ? "true" : "false"); break;
      case "integer": case "positiveInt": case "unsignedInt": p.setValueAsString("7"); break;
      case "decimal": p.setValueAsString(List.of("1.50", "-0.000", "1E+3", "12345678901234567.8").get(variant)); break;
      case "date": p.setValueAsString("2020-01-02"); break;
      case "dateTime": p.setValueAsString("2020-01-02T03:04:05+05:00"); break;
      case "instant": p.setValueAsString("2020-01-02T03:04:05.123Z"); break;
      case "time": p.setValueAsString("10:11:12"); break;
      case "base64Binary": p.setValueAsString("AQID"); break;
      case "id": p.setValueAsString("abc-1"); break;
      case "uuid": p.setValueAsString("urn:uuid:6b7a4e7e-4d3b-4d6f-8a1f-1d2e3f4a5b6c"); break;
      case "oid": p.setValueAsString("urn:oid:1.2.3"); break;
      default: p.setValueAsString("v\u00e9 \"q\"\n\u2028 <b>&amp;");
    }
  }

  /** Shapes HAPI writes its own way (the attacker's review of ModelJson): left to HAPI. */
  @Test
  void shapesHapiWritesItsOwnWay_leftToHapi() {
    List<Resource> hapis = new ArrayList<>();
    Observation age = new Observation();
    age.setValue(new org.hl7.fhir.r4.model.Age().setValue(42).setUnit("a")); // HAPI: valueQuantity
    hapis.add(age);
    Observation markdown = new Observation();
    markdown.addComponent().setValue(new org.hl7.fhir.r4.model.MarkdownType("**x**")); // string only
    hapis.add(markdown);
    Observation positive = new Observation();
    positive.setValue(new org.hl7.fhir.r4.model.PositiveIntType(3)); // integer only
    hapis.add(positive);
    Observation noIdContained = new Observation();
    noIdContained.addContained(new org.hl7.fhir.r4.model.Practitioner().setActive(true));
    hapis.add(noIdContained);
    Observation idWithExtensionOnly = new Observation();
    CodeableConcept cc = new CodeableConcept().setText("c");
    cc.getIdElement().addExtension("urn:ext:x", new StringType("y"));
    idWithExtensionOnly.setCode(cc);
    hapis.add(idWithExtensionOnly);
    Observation versioned = new Observation();
    versioned.addPerformer(new Reference("Practitioner/9/_history/4"));
    hapis.add(versioned);
    Observation emptyTag = new Observation();
    emptyTag.getMeta().addTag().setDisplay("no system, no code");
    hapis.add(emptyTag);
    // a lone surrogate: HAPI writes "?", Jackson an escape of it (the forwarding review)
    for (String lone : List.of("\uD800", "a\uDC00", "x\uD83D")) {
      org.hl7.fhir.r4.model.Patient surrogate = new org.hl7.fhir.r4.model.Patient();
      surrogate.addName().setFamily(lone);
      hapis.add(surrogate);
      org.hl7.fhir.r4.model.Patient inId = new org.hl7.fhir.r4.model.Patient();
      inId.addName().setFamily("ok").setId("n" + lone);
      hapis.add(inId);
    }
    Observation primitiveWithId = new Observation();
    primitiveWithId.getStatusElement().setValue(Observation.ObservationStatus.FINAL).setId("s");
    hapis.add(primitiveWithId);
    Observation urlOnly = new Observation();
    urlOnly.addExtension().setUrl("urn:ext:nothing");
    hapis.add(urlOnly);
    Observation noUrl = new Observation();
    noUrl.addExtension().setValue(new StringType("x"));
    hapis.add(noUrl);
    Observation extensionOnVersionId = new Observation();
    extensionOnVersionId.getMeta().setVersionId("2").getVersionIdElement()
        .addExtension("urn:ext:x", new StringType("y"));
    hapis.add(extensionOnVersionId);
    Medication inner = new Medication();
    inner.setId("inner");
    Medication outer = new Medication();
    outer.setId("outer");
    outer.addContained(inner);
    MedicationRequest nested = new MedicationRequest();
    nested.addContained(outer);
    hapis.add(nested);
    // the second review: inside contained resources HAPI leaves out security, versionId and
    // lastUpdated wherever they are, and resources contained at any depth
    Patient containedWithLastUpdated = new Patient();
    containedWithLastUpdated.setId("p1");
    containedWithLastUpdated.getMeta().setLastUpdatedElement(
        new org.hl7.fhir.r4.model.InstantType("2026-12-01T10:00:00Z"));
    Observation holder = new Observation();
    holder.addContained(containedWithLastUpdated);
    hapis.add(holder);
    // references HAPI rebuilds without their leading slash or dots
    for (String odd : List.of("/Patient/1", "../Patient/1", "//x", "/1")) {
      Observation o = new Observation();
      o.setSubject(new Reference(odd));
      hapis.add(o);
    }
    // a tag whose code and system hold only extensions; a Meta as a value
    Observation extensionTag = new Observation();
    org.hl7.fhir.r4.model.Coding tag = extensionTag.getMeta().addTag();
    tag.getCodeElement().addExtension("urn:ext:x", new StringType("y"));
    hapis.add(extensionTag);
    Observation metaValue = new Observation();
    metaValue.addExtension("urn:ext:meta", new org.hl7.fhir.r4.model.Meta().setVersionId("3"));
    hapis.add(metaValue);
    // two contained resources with one id; an empty resource in a Bundle
    Observation twoP = new Observation();
    twoP.addContained(new Patient().setActive(true).setId("p"));
    twoP.addContained(new Patient().setActive(false).setId("p"));
    hapis.add(twoP);
    org.hl7.fhir.r4.model.Bundle withEmpty = new org.hl7.fhir.r4.model.Bundle();
    withEmpty.addEntry().setFullUrl("urn:uuid:1").setResource(new Patient());
    hapis.add(withEmpty);
    // an application's own class at the top
    hapis.add(new Patient() {
      private static final long serialVersionUID = 1L;
    }.setActive(true));
    for (Resource r : hapis) {
      assertThat(ModelJson.write(r)).as(CTX.newJsonParser().encodeResourceToString(r.copy())).isEmpty();
    }
    // a list of primitives that hold only extensions: HAPI writes [null] beside them
    Patient onlyExtensions = new Patient();
    StringType given = new StringType();
    given.addExtension("urn:ext:absent", new StringType("masked"));
    onlyExtensions.addName().getGiven().add(given);
    assertSameAsHapi(onlyExtensions);
    // and the ordinary forms of the same: written here, as HAPI writes them
    Observation quantity = new Observation();
    quantity.setValue(new Quantity().setValue(42).setUnit("a"));
    assertSameAsHapi(quantity);
    Observation contained = new Observation();
    contained.addContained(new org.hl7.fhir.r4.model.Practitioner().setActive(true).setId("#pr"));
    contained.addPerformer(new Reference("#pr"));
    assertSameAsHapi(contained);
    Observation ageInAnExtension = new Observation();
    ageInAnExtension.addExtension("urn:ext:age", new org.hl7.fhir.r4.model.Age().setValue(3));
    assertSameAsHapi(ageInAnExtension);
    Patient urnId = new Patient();
    urnId.setId("urn:uuid:6b7a4e7e-4d3b-4d6f-8a1f-1d2e3f4a5b6c");
    urnId.setActive(true);
    assertSameAsHapi(urnId);
  }

  @Test
  void writing_createsNothingOnTheResource() {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.getText().setStatus(Narrative.NarrativeStatus.EMPTY);
    o.setCode(new CodeableConcept().setText("c"));
    assertThat(ModelJson.write(o)).isPresent();
    assertThat(o.hasIdElement() || o.hasMeta() || o.hasImplicitRulesElement()
        || o.hasLanguageElement() || o.getText().hasDiv() || o.getCode().hasIdElement()
        || o.getStatusElement().hasIdElement()).isFalse();
  }
}
