package ca.halo.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.server.TestSofa;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Enumerations.AdministrativeGender;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Narrative;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/** {@link FhirJson} writes exactly the bytes HAPI's own JSON encoding gives, whatever the input. */
class FhirJsonTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  private static void assertSameAsHapi(IBaseResource r) {
    IParser p = CTX.newJsonParser();
    assertThat(new String(FhirJson.encode(p, r), StandardCharsets.UTF_8))
        .isEqualTo(p.encodeResourceToString(r));
    IParser pretty = CTX.newJsonParser().setPrettyPrint(true);
    assertThat(new String(FhirJson.encode(pretty, r), StandardCharsets.UTF_8))
        .isEqualTo(pretty.encodeResourceToString(r));
  }

  /** The same JSON value as HAPI's: what it reads back as, written again by HAPI. */
  private static void assertSameValueAsHapi(String ours, String hapi) {
    assertThat(CTX.newJsonParser().encodeResourceToString(CTX.newJsonParser().parseResource(ours)))
        .isEqualTo(hapi);
  }

  @Test
  void sixResourceContext_sameBytesAsHapi() {
    assertSameAsHapi(TestSofa.sixResourceContext("growth-chart"));
  }

  @Test
  void numbersEscapesExtensionsContainedAndNarrative_sameBytesAsHapi() {
    Patient p = new Patient();
    p.setId("p1");
    p.setActive(true).setGender(AdministrativeGender.FEMALE);
    DateType birth = new DateType("1970-01-02");
    birth.addExtension("http://example.org/time", new StringType("04:05"));
    p.setBirthDateElement(birth);
    p.addName().setFamily("O\"Brien \\ \n\t\u0001 é 漢字 \u2028").addGiven(null);
    p.addExtension("http://example.org/n", new IntegerType(-7));
    p.addExtension("http://example.org/b", new BooleanType(false));
    p.addExtension("http://example.org/d", new DecimalType(new BigDecimal("1.50")));
    p.addExtension("http://example.org/big", new DecimalType(new BigDecimal("1E+3")));
    p.addExtension("http://example.org/small", new DecimalType(new BigDecimal("0.000000001")));
    p.setText(narrative("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &amp; b</p></div>"));
    Observation contained = new Observation();
    contained.setId("#o");
    contained.setValue(new Quantity().setValue(new BigDecimal("98.60")).setUnit("[degF]"));
    contained.setEffective(new org.hl7.fhir.r4.model.DateTimeType(new Date(0)));
    p.addContained(contained);
    p.addGeneralPractitioner(new Reference("#o"));
    p.getMeta().addTag("urn:t", "c", "d").setVersionId("3");
    assertSameAsHapi(p);

    Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
    b.addEntry().getResponse().setStatus("201 Created").setLocation("Patient/p1/_history/1")
        .setEtag("W/\"1\"").setLastModified(new Date(1_700_000_000_123L));
    Parameters out = new Parameters();
    out.addParameter().setName("launchID").setValue(new StringType("abc"));
    out.addParameter().setName("resourcesResponse").setResource(b);
    assertSameAsHapi(out);
  }

  @Test
  void parserSettings_summaryAndOmittedElements_honoured() {
    Patient p = new Patient();
    p.setId("p1");
    p.addName().setFamily("Tremblay");
    p.setText(narrative("<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"));
    IParser p1 = CTX.newJsonParser().setSummaryMode(true);
    assertThat(new String(FhirJson.encode(p1, p), StandardCharsets.UTF_8))
        .isEqualTo(p1.encodeResourceToString(p)).doesNotContain("div");
    IParser p2 = CTX.newJsonParser().setDontEncodeElements(Set.of("Patient.name"));
    assertThat(new String(FhirJson.encode(p2, p), StandardCharsets.UTF_8))
        .isEqualTo(p2.encodeResourceToString(p)).doesNotContain("Tremblay");
    IParser p3 = CTX.newJsonParser().setOmitResourceId(true);
    assertThat(new String(FhirJson.encode(p3, p), StandardCharsets.UTF_8))
        .isEqualTo(p3.encodeResourceToString(p)).doesNotContain("\"p1\"");
  }

  @Test
  void outsideTheBmp_writtenAsEscapes_theSameValue() {
    Patient p = new Patient();
    p.addName().setFamily("x \ud83d\ude00 \ud800\udc00 y");
    String ours = new String(FhirJson.encode(CTX.newJsonParser(), p), StandardCharsets.UTF_8);
    assertThat(ours).contains("x \\uD83D\\uDE00 \\uD800\\uDC00 y");
    assertSameValueAsHapi(ours, CTX.newJsonParser().encodeResourceToString(p));
  }

  @Test
  void unpairedSurrogate_writtenAsAnEscape_readsBackAsItWas() {
    // HAPI writes a String that UTF-8 cannot carry, and its bytes then hold '?' instead; the
    // escape is valid JSON and loses nothing
    Patient p = new Patient();
    p.addName().setFamily("a\ud800b"); // not joined with the b
    p.addName().setFamily("c\udc00");
    String json = new String(FhirJson.encode(CTX.newJsonParser(), p), StandardCharsets.UTF_8);
    assertThat(json).contains("a\\uD800b", "c\\uDC00");
    Patient back = CTX.newJsonParser().parseResource(Patient.class, json);
    assertThat(back.getName().get(0).getFamily()).isEqualTo("a\ud800b");
    assertThat(back.getName().get(1).getFamily()).isEqualTo("c\udc00");
  }

  @Provide
  Arbitrary<Mutant> bodies() {
    return JsonMutations.mutantsOf(CTX.newJsonParser().encodeResourceToString(
        TestSofa.sixResourceContext("growth-chart")), List.of("resourceType", "parameter", "name",
        "valueString", "valueReference", "valueBoolean", "valueUrl", "valueDecimal", "resource",
        "entry", "fullUrl", "request", "method", "url", "type", "reference", "subject", "id",
        "family", "given", "birthDate", "extension", "valueInteger", "text", "div"));
  }

  @Provide
  Arbitrary<String> anyChars() {
    return net.jqwik.api.Arbitraries.strings().all().ofMaxLength(30);
  }

  @Property(tries = 300)
  void anyText_sameValueAsHapi_andSameBytesWithoutSurrogates(
      @ForAll("anyChars") String family, @ForAll String given, @ForAll BigDecimal decimal) {
    Patient p = new Patient();
    p.addName().setFamily(family).addGiven(given);
    p.addExtension("http://example.org/d", new DecimalType(decimal));
    String hapi = CTX.newJsonParser().encodeResourceToString(p);
    String ours = new String(FhirJson.encode(CTX.newJsonParser(), p), StandardCharsets.UTF_8);
    if ((family + given).chars().anyMatch(c -> Character.isSurrogate((char) c))) {
      Statistics.label("text").collect("surrogates, same value");
      assertSameValueAsHapi(ours, hapi); // HAPI's String, before any bytes are made of it
      return;
    }
    Statistics.label("text").collect("same bytes");
    assertThat(ours).isEqualTo(hapi);
  }

  @Property(tries = 400)
  void whateverHapiReads_isWrittenByteForByteAsHapiWritesIt(@ForAll("bodies") Mutant m) {
    IBaseResource r;
    try {
      r = CTX.newJsonParser().parseResource(m.text());
    } catch (RuntimeException e) {
      Statistics.label("input").collect("not read by HAPI");
      return;
    }
    IParser p = CTX.newJsonParser();
    String hapi;
    try {
      hapi = p.encodeResourceToString(r);
    } catch (RuntimeException e) {
      Statistics.label("input").collect("not written by HAPI");
      return;
    }
    String ours = new String(FhirJson.encode(p, r), StandardCharsets.UTF_8);
    if (hapi.chars().anyMatch(c -> Character.isSurrogate((char) c))) {
      // outside the BMP, or text UTF-8 cannot carry: escaped here, the same value
      Statistics.label("input").collect("surrogates, same value");
      assertSameValueAsHapi(ours, hapi);
      return;
    }
    Statistics.label("input").collect("compared");
    assertThat(ours).isEqualTo(hapi);
  }

  private static Narrative narrative(String div) {
    Narrative n = new Narrative().setStatus(Narrative.NarrativeStatus.GENERATED);
    n.setDivAsString(div);
    return n;
  }
}
