package ca.halo.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.Test;

class TransactionAnswersTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  /** HAPI FHIR JPA 8.8.0's answer to a 2-entry transaction, as it sends it. */
  static final String HAPI_JPA = "{\"resourceType\":\"Bundle\",\"id\":\"2887a2a3-a09f-46dc-92dd-e405be626daa\","
      + "\"type\":\"transaction-response\",\"link\":[{\"relation\":\"self\",\"url\":\"http://127.0.0.1:43535/fhir\"}],"
      + "\"entry\":[" + entry("Patient/1006", "3") + "," + entry("Encounter/1007", "1") + "]}";

  private static String entry(String id, String took) {
    return "{\"response\":{\"status\":\"201 Created\",\"location\":\"" + id + "/_history/1\",\"etag\":\"1\","
        + "\"lastModified\":\"2026-12-03T09:39:07.547+00:00\",\"outcome\":{\"resourceType\":\"OperationOutcome\","
        + "\"issue\":[{\"severity\":\"information\",\"code\":\"informational\",\"details\":{\"coding\":[{\"system\":"
        + "\"https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code\",\"code\":\"SUCCESSFUL_CREATE\","
        + "\"display\":\"Create succeeded.\"}]},\"diagnostics\":\"Successfully created resource \\\"" + id
        + "/_history/1\\\". Took " + took + "ms.\"}]}}}";
  }

  /** What HAPI's parser reads from {@code json}, each entry's outcome left out, as JSON; or null. */
  private static String hapi(String json) {
    try {
      Bundle b = CTX.newJsonParser().parseResource(Bundle.class, json);
      b.getEntry().forEach(e -> e.getResponse().setOutcome(null));
      return CTX.newJsonParser().encodeResourceToString(b);
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Test
  void hapiJpasAnswer_readsAsHapiReadsIt_withoutTheInformationalOutcomes() {
    Bundle b = TransactionAnswers.read(HAPI_JPA, 2);

    assertThat(b).isNotNull();
    assertThat(b.getEntry()).extracting(e -> e.getResponse().getLocation())
        .containsExactly("Patient/1006/_history/1", "Encounter/1007/_history/1");
    assertThat(b.getEntryFirstRep().getResponse().hasOutcome()).isFalse();
    assertThat(CTX.newJsonParser().encodeResourceToString(b)).isEqualTo(hapi(HAPI_JPA));
  }

  @Test
  void theShapesOfOtherServers_readAsHapiReadsThem() {
    for (String json : List.of(
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[{\"response\":{\"status\":\"201\",\"location\":\"Patient/1\"}}]}",
        "{\"type\":\"transaction-response\",\"entry\":[{\"response\":{\"status\":\"201 Created\"}}],\"resourceType\":\"Bundle\"}",
        "{\"resourceType\":\"Bundle\",\"id\":\"x\",\"meta\":{\"lastUpdated\":\"2026-12-03T09:39:07Z\"},\"type\":\"transaction-response\","
            + "\"entry\":[{\"response\":{\"status\":\"200 OK\",\"location\":\"Patient/1/_history/2\",\"etag\":\"W/\\\"2\\\"\"}}]}")) {
      Bundle b = TransactionAnswers.read(json, 1);
      assertThat(b).as(json).isNotNull();
      assertThat(CTX.newJsonParser().encodeResourceToString(b)).as(json).isEqualTo(hapi(json));
    }
  }

  @Test
  void anyOtherShape_isLeftToHapi() {
    String ok = "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[{\"response\":"
        + "{\"status\":\"201 Created\",\"location\":\"Patient/1\"}}]}";
    assertThat(TransactionAnswers.read(ok, 1)).isNotNull();
    List<String> unusual = new ArrayList<>(List.of(
        ok.replace("\"type\":\"transaction-response\"", "\"type\":\"batch-response\""),
        ok.replace("\"resourceType\":\"Bundle\"", "\"resourceType\":\"Parameters\""),
        ok.replace("{\"response\":", "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"1\"},\"response\":"),
        ok.replace("{\"response\":", "{\"fullUrl\":\"http://x/Patient/1\",\"response\":"),
        ok.replace("\"201 Created\"", "\"400 Bad Request\",\"outcome\":{\"resourceType\":\"OperationOutcome\"}"),
        ok.replace("\"201 Created\"", "\"404 Not Found\""),
        ok.replace("\"201 Created\"", "201"),
        ok.replace("\"201 Created\"", "\"\""),
        ok.replace("\"201 Created\"", "\" 201 Created\""),
        ok.replace("\"location\":\"Patient/1\"", "\"location\":\"Patient/1\",\"location\":\"Patient/2\""),
        ok.replace("\"location\":\"Patient/1\"", "\"lastModified\":\"yesterday\""),
        ok.replace("\"location\":\"Patient/1\"", "\"outcome\":\"fine\""),
        ok.replace("\"location\":\"Patient/1\"", "\"extension\":[]"),
        ok.replace("\"entry\":[", "\"total\":1,\"entry\":["),
        ok.replace("\"entry\":[", "\"link\":[],\"entry\":["),
        ok.replace("\"entry\":[", "\"meta\":{\"versionId\":\"1\"},\"entry\":["),
        ok.replace("\"entry\":[{\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/1\"}}]", "\"entry\":[]"),
        ok.replace("]}", ",{\"response\":{\"status\":\"201 Created\"}}]}"), // more entries than sent
        ok + " {}",
        "[" + ok + "]",
        "<Bundle xmlns=\"http://hl7.org/fhir\"/>",
        ""));
    for (String json : unusual) {
      assertThat(TransactionAnswers.read(json, 1)).as(json).isNull();
    }
  }

  /**
   * {@code json} with every entry's {@code response.outcome} taken out (by Jackson's tree, which
   * keeps a repeated member's last value, as HAPI's parser does), or null if it is not JSON.
   */
  private static String withoutOutcomes(String json) {
    try {
      com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
      if (root != null && root.path("entry").isArray()) {
        for (com.fasterxml.jackson.databind.JsonNode e : root.path("entry")) {
          if (e.path("response").isObject()) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e.path("response")).remove("outcome");
          }
        }
      }
      return root == null ? null : root.toString();
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /**
   * Mutants of HAPI JPA's answer (characters cut, doubled, replaced, pieces of JSON put in): what
   * this reader reads, HAPI's parser reads the same from the answer without its outcomes, and
   * this reader reads nothing HAPI's parser refuses for what is kept. (An outcome HAPI's parser
   * would refuse, say with a severity code it does not know, is passed over here: nothing of it
   * is kept.)
   */
  @Test
  void mutantsOfTheAnswer_areReadAsHapiReadsThem_orLeftToHapi() {
    Random random = new Random(20261203);
    String[] pieces = {"\"", "{", "}", "[", "]", ",", ":", "\"x\"", "1", "null", "\"outcome\":{}",
        "\"etag\":\"2\"", "\\u0000", "\"status\":\"500\"", "\"resource\":{}", " "};
    int read = 0;
    int same = 0;
    for (int i = 0; i < 3000; i++) {
      StringBuilder m = new StringBuilder(HAPI_JPA);
      for (int k = 1 + random.nextInt(3); k > 0; k--) {
        int at = random.nextInt(m.length());
        switch (random.nextInt(4)) {
          case 0 -> m.delete(at, Math.min(m.length(), at + 1 + random.nextInt(8)));
          case 1 -> m.insert(at, pieces[random.nextInt(pieces.length)]);
          case 2 -> m.setCharAt(at, (char) (32 + random.nextInt(95)));
          default -> m.insert(at, m.substring(at, Math.min(m.length(), at + 1 + random.nextInt(20))));
        }
      }
      String json = m.toString();
      Bundle ours = TransactionAnswers.read(json, 2);
      if (ours != null) {
        read++;
        String stripped = withoutOutcomes(json);
        assertThat(stripped).as(json).isNotNull();
        assertThat(CTX.newJsonParser().encodeResourceToString(ours)).as(json).isEqualTo(hapi(stripped));
        if (hapi(json) != null) {
          same++;
          assertThat(hapi(json)).as(json).isEqualTo(hapi(stripped));
        }
      }
    }
    assertThat(same).as("mutants HAPI's parser reads whole").isGreaterThan(100);
    assertThat(read).as("mutants read here, not left to HAPI").isGreaterThan(100);
  }
}
