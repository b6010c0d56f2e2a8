package ca.halo.server.sofa.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.function.Consumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/**
 * The {@code $set-context} answer written field by field is HAPI's encoding of the same
 * Parameters, byte for byte; any other shape is left to the general encoder (null).
 */
class SetContextAnswerTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  @Provide
  Arbitrary<String> text() {
    // no surrogates: the escapes for those are FhirJson's business, tested there
    return Arbitraries.oneOf(Arbitraries.strings().withCharRange(' ', '\u07ff').ofMaxLength(30),
        Arbitraries.strings().withChars("\"\\/\n\t\u0001\u2028<>&é").ofMaxLength(8),
        Arbitraries.of("201 Created", "200 OK", "Patient/abc/_history/1", "W/\"1\""));
  }

  private static Parameters answer(String launchId, int entries, String status, String location,
      String etag, long millis, int flags) {
    Parameters p = new Parameters();
    p.addParameter().setName("launchID").setValue(new StringType(launchId));
    if (entries >= 0) {
      Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      for (int i = 0; i < entries; i++) {
        Bundle.BundleEntryResponseComponent r = b.addEntry().getResponse().setStatus(status + i);
        if ((flags >> (i % 3) & 1) == 0) {
          r.setLocation(location + i);
        }
        if ((flags >> (i % 3 + 3) & 1) == 0) {
          r.setEtag(etag);
        }
        if ((flags >> (i % 3 + 6) & 1) == 0) {
          r.setLastModified(new Date(millis + i));
        }
      }
      p.addParameter().setName("resourcesResponse").setResource(b);
    }
    return p;
  }

  @Property(tries = 400)
  void usualShape_sameBytesAsHapi(@ForAll("text") String launchId,
      @ForAll @IntRange(min = -1, max = 8) int entries, @ForAll("text") String status,
      @ForAll("text") String location, @ForAll("text") String etag,
      @ForAll @net.jqwik.api.constraints.LongRange(min = -62_000_000_000_000L,
          max = 250_000_000_000_000L) long millis,
      @ForAll @IntRange(min = 0, max = 511) int flags) {
    Parameters p = answer(launchId, entries, status, location, etag, millis, flags);
    byte[] ours = CompactOperationResponses.setContextAnswer(p);
    if (new StringType(launchId).isEmpty()) {
      // HAPI leaves an empty (or blank) value out: not the usual shape
      assertThat(ours).isNull();
      return;
    }
    assertThat(ours).isNotNull();
    assertThat(new String(ours, StandardCharsets.UTF_8))
        .isEqualTo(CTX.newJsonParser().encodeResourceToString(p));
  }

  @Test
  void anyOtherShape_leftToTheGeneralEncoder() {
    List<Consumer<Parameters>> changes = List.of(
        p -> p.setId("x"),
        p -> p.getMeta().setVersionId("1"),
        p -> p.setLanguage("fr"),
        p -> p.getParameterFirstRep().setName("launch"),
        p -> p.getParameterFirstRep().addExtension(new Extension("urn:x", new StringType("y"))),
        p -> p.getParameterFirstRep().getValue().setId("v"),
        p -> p.getParameterFirstRep().setValue(new org.hl7.fhir.r4.model.UriType("urn:x")),
        p -> p.getParameterFirstRep().addPart().setName("p"),
        p -> p.addParameter().setName("third"),
        p -> p.getParameter().remove(0),
        p -> p.getParameter().get(1).setName("other"),
        p -> p.getParameter().get(1).setValue(new StringType("v")),
        p -> p.getParameter().get(1).setResource(new OperationOutcome()),
        p -> bundle(p).setId("b"),
        p -> bundle(p).setType(Bundle.BundleType.BATCHRESPONSE),
        p -> bundle(p).setTotal(1),
        p -> bundle(p).addLink().setRelation("self").setUrl("http://x"),
        p -> bundle(p).getEntryFirstRep().setFullUrl("urn:uuid:1"),
        p -> bundle(p).getEntryFirstRep().setResource(outcome()),
        p -> bundle(p).getEntryFirstRep().getResponse().setOutcome(outcome()),
        p -> bundle(p).getEntryFirstRep().getResponse().getStatusElement().setId("s"),
        p -> bundle(p).getEntryFirstRep().getResponse().addExtension(
            new Extension("urn:x", new StringType("y"))),
        p -> bundle(p).getEntryFirstRep().getResponse().setStatus(null),
        p -> bundle(p).getEntryFirstRep().getRequest().setUrl("Patient"));
    for (int i = 0; i < changes.size(); i++) {
      Parameters p = answer("L", 2, "201 Created", "Patient/a", "W/\"1\"", 0, 0);
      assertThat(CompactOperationResponses.setContextAnswer(p)).as("unchanged").isNotNull();
      changes.get(i).accept(p);
      assertThat(CompactOperationResponses.setContextAnswer(p)).as("change " + i).isNull();
    }
  }

  private static OperationOutcome outcome() {
    OperationOutcome o = new OperationOutcome();
    o.addIssue().setDiagnostics("x");
    return o;
  }

  private static Bundle bundle(Parameters p) {
    return (Bundle) p.getParameter().get(1).getResource();
  }
}
