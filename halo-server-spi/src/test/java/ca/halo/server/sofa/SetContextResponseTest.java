package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.Test;

/**
 * The answer to {@code $set-context} written in one piece (CompactOperationResponses) is the
 * answer HAPI writes: the same headers that matter, the same Parameters, and every case it does
 * not take (XML, pretty, summary, _format, errors) still answered by HAPI.
 */
class SetContextResponseTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<byte[]> post(TestSofa sofa, String query, String token,
      String accept, boolean gzip) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
            URI.create(sofa.fhirBase() + "/$set-context" + query))
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/fhir+json")
        .header("Authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.ofString(TestSofa.CTX.newJsonParser()
            .encodeResourceToString(TestSofa.sixResourceContext("growth-chart"))));
    if (accept != null) {
      b.header("Accept", accept);
    }
    if (gzip) {
      b.header("Accept-Encoding", "gzip");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String text(HttpResponse<byte[]> r) throws Exception {
    byte[] body = r.body();
    if (r.headers().firstValue("Content-Encoding").orElse("").equals("gzip")) {
      body = new GZIPInputStream(new java.io.ByteArrayInputStream(body)).readAllBytes();
    }
    return new String(body, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The Parameters without what differs from one context to the next. */
  private static String shape(String json, boolean xml) {
    Parameters p = (Parameters) (xml ? TestSofa.CTX.newXmlParser() : TestSofa.CTX.newJsonParser())
        .parseResource(json);
    assertThat(p.getParameter()).extracting(x -> x.getName())
        .containsExactly("launchID", "resourcesResponse");
    assertThat(p.getParameter().get(0).getValue().primitiveValue()).hasSizeGreaterThan(20);
    Bundle b = (Bundle) p.getParameter().get(1).getResource();
    assertThat(b.getEntry()).hasSize(6);
    StringBuilder s = new StringBuilder(b.getType().toCode());
    for (Bundle.BundleEntryComponent e : b.getEntry()) {
      assertThat(e.getResponse().getLocation()).matches("[A-Za-z]+/[0-9a-f]{24}/_history/1");
      assertThat(e.getResponse().getLastModified()).isNotNull();
      s.append('|').append(e.getResponse().getStatus()).append(' ')
          .append(e.getResponse().getLocation().replaceAll("/.*", "")).append(' ')
          .append(e.getResponse().getEtag());
    }
    return s.toString();
  }

  @Test
  void plainJson_writtenInOnePiece_sameAnswerAsHapis() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      HttpResponse<byte[]> ours = post(sofa, "", emr, null, true);
      // _format=json: the same negotiation result, but left to HAPI
      HttpResponse<byte[]> hapis = post(sofa, "?_format=json", emr, null, true);
      assertThat(ours.statusCode()).isEqualTo(200);
      assertThat(hapis.statusCode()).isEqualTo(200);
      assertThat(ours.headers().firstValue("Content-Type"))
          .isEqualTo(hapis.headers().firstValue("Content-Type"))
          .hasValue("application/fhir+json;charset=utf-8");
      // sent whole with its length, not gzipped; HAPI gzips when asked
      assertThat(ours.headers().firstValue("Content-Encoding")).isEmpty();
      assertThat(ours.headers().firstValueAsLong("Content-Length")).hasValue(ours.body().length);
      assertThat(hapis.headers().firstValue("Content-Encoding")).hasValue("gzip");
      assertThat(shape(text(ours), false)).isEqualTo(shape(text(hapis), false))
          .startsWith("transaction-response|201 Created Patient W/\"1\"");
      // compact, as HAPI writes it
      assertThat(text(ours)).startsWith("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\""
          + ":\"launchID\",\"valueString\":\"");
    }
  }

  @Test
  void xmlPrettyAndSummary_stillAnsweredByHapi() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      HttpResponse<byte[]> xml = post(sofa, "", emr, "application/fhir+xml", false);
      assertThat(xml.statusCode()).isEqualTo(200);
      assertThat(xml.headers().firstValue("Content-Type").orElseThrow())
          .startsWith("application/fhir+xml");
      assertThat(shape(text(xml), true)).startsWith("transaction-response|201 Created");

      HttpResponse<byte[]> pretty = post(sofa, "?_pretty=true", emr, null, false);
      assertThat(text(pretty)).startsWith("{\n  \"resourceType\": \"Parameters\"");
      assertThat(shape(text(pretty), false)).startsWith("transaction-response|201 Created");
      // pretty printing asked for in the Accept header is HAPI's too
      HttpResponse<byte[]> prettyAccept = post(sofa, "", emr, "application/fhir+json; pretty=true",
          false);
      assertThat(text(prettyAccept)).startsWith("{\n  \"resourceType\": \"Parameters\"");

      // Accept application/json: the content type HAPI's negotiation gives, here as there
      HttpResponse<byte[]> legacy = post(sofa, "", emr, "application/json", false);
      HttpResponse<byte[]> legacyHapi = post(sofa, "?_summary=false", emr, "application/json",
          false);
      assertThat(legacy.statusCode()).isEqualTo(200);
      assertThat(legacy.headers().firstValue("Content-Type"))
          .isEqualTo(legacyHapi.headers().firstValue("Content-Type"));
      assertThat(shape(text(legacy), false)).isEqualTo(shape(text(legacyHapi), false));
    }
  }

  @Test
  void refusal_stillAnOperationOutcomeFromHapi() throws Exception {
    try (TestSofa sofa = new TestSofa()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
              URI.create(sofa.fhirBase() + "/$set-context"))
          .header("Content-Type", "application/fhir+json")
          .header("Authorization", "Bearer " + emr)
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"nope\"}]}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(r.body()).contains("\"resourceType\":\"OperationOutcome\"", "unknown parameter");
    }
  }
}
