package ca.halo.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.server.sofa.internal.CompactOperationResponses;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/**
 * The client's own reader of the usual {@code $set-context} answer reads what HAPI reads: the
 * answer written by the SoFA itself, and mutants of it, where the reader either declines (HAPI
 * then reads it, as before) or gives what HAPI gives.
 */
class SetContextAnswersTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  static Parameters answer(int entries) {
    Parameters p = new Parameters();
    p.addParameter().setName("launchID").setValue(new StringType("Zm9vYmFyLWxhdW5jaC1pZA"));
    if (entries >= 0) {
      Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      for (int i = 0; i < entries; i++) {
        Bundle.BundleEntryResponseComponent r = b.addEntry().getResponse().setStatus("201 Created")
            .setLocation("Observation/" + i + "/_history/1").setEtag("W/\"1\"");
        if (i % 2 == 0) {
          r.setLastModifiedElement(new InstantType("2026-12-02T10:0" + i % 10 + ":00.123Z"));
        }
      }
      p.addParameter().setName("resourcesResponse").setResource(b);
    }
    return p;
  }

  private static String hapi(Parameters p) {
    return CTX.newJsonParser().encodeResourceToString(p);
  }

  @Test
  void theSofasOwnAnswer_readAsHapiReadsIt() {
    for (int entries : new int[] {-1, 1, 6, 40}) {
      byte[] wire = CompactOperationResponses.setContextAnswer(answer(entries));
      Parameters ours = SetContextAnswers.read(wire, Math.max(entries, 0));
      assertThat(ours).as("%d entries", entries).isNotNull();
      Parameters theirs = (Parameters) CTX.newJsonParser()
          .parseResource(new String(wire, StandardCharsets.UTF_8));
      assertThat(hapi(ours)).isEqualTo(hapi(theirs));
    }
  }

  @Test
  void otherShapes_leftToHapi() {
    for (String json : List.of(
        "{\"resourceType\":\"Parameters\",\"id\":\"x\",\"parameter\":[{\"name\":\"launchID\",\"valueString\":\"a\"}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\",\"valueId\":\"a\"}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\",\"valueString\":\"\"}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\",\"valueString\":\"a\"},"
            + "{\"name\":\"resourcesResponse\",\"resource\":{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\","
            + "\"entry\":[{\"response\":{\"status\":\"201\",\"outcome\":{\"resourceType\":\"OperationOutcome\"}}}]}}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\",\"valueString\":\"a\"},"
            + "{\"name\":\"resourcesResponse\",\"resource\":{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\","
            + "\"entry\":[{\"response\":{\"status\":\"201\",\"lastModified\":\"yesterday\"}}]}}]}",
        "{\"resourceType\":\"OperationOutcome\"}", "[]", "not json")) {
      assertThat(SetContextAnswers.read(json.getBytes(StandardCharsets.UTF_8), 6)).as(json).isNull();
    }
  }

  @Provide
  Arbitrary<Mutant> answers() {
    return JsonMutations.mutantsOf(List.of(
            new String(CompactOperationResponses.setContextAnswer(answer(3)), StandardCharsets.UTF_8),
            new String(CompactOperationResponses.setContextAnswer(answer(-1)), StandardCharsets.UTF_8)),
        List.of("resourceType", "parameter", "name", "valueString", "resource", "type", "entry",
            "response", "status", "location", "etag", "lastModified", "launchID",
            "resourcesResponse"));
  }

  @Property(tries = 3000)
  void mutants_declinedOrReadAsHapiReadsThem(@ForAll("answers") Mutant m) {
    Parameters ours = SetContextAnswers.read(m.bytes(), 3);
    Statistics.collect(ours == null ? "declined" : "read");
    // the seeds and harmless mutants are read: the comparison below is not vacuous
    Statistics.coverage(c -> c.check("read").count((Integer n) -> n >= 50));
    if (ours == null) {
      return;
    }
    IParser parser = CTX.newJsonParser();
    Parameters theirs = (Parameters) parser.parseResource(m.text());
    assertThat(hapi(ours)).as(m.toString()).isEqualTo(hapi(theirs));
  }

  /**
   * The attacker's review: a 63 MB answer of empty objects (under the HTTP cap) became a tree of
   * about 1.5 GB before its shape was checked. Now what is read is bounded by the entries sent.
   */
  @Test
  void hugeAnswers_declinedWithoutBuildingThem() {
    StringBuilder many = new StringBuilder("{\"resourceType\":\"Parameters\",\"parameter\":[");
    for (int i = 0; i < 2_000_000; i++) {
      many.append(i == 0 ? "{}" : ",{}");
    }
    many.append("]}");
    byte[] body = many.toString().getBytes(StandardCharsets.UTF_8);
    assertThat(SetContextAnswers.read(body, 6)).isNull();
    // an object with many members, and an answer with more entries than were sent
    StringBuilder wide = new StringBuilder("{\"resourceType\":\"Parameters\"");
    for (int i = 0; i < 100_000; i++) {
      wide.append(",\"m").append(i).append("\":\"x\"");
    }
    assertThat(SetContextAnswers.read(wide.append("}").toString().getBytes(StandardCharsets.UTF_8), 6)).isNull();
    byte[] forty = CompactOperationResponses.setContextAnswer(answer(40));
    assertThat(SetContextAnswers.read(forty, 6)).isNull();
    assertThat(SetContextAnswers.read(forty, 40)).isNotNull();
  }
}
