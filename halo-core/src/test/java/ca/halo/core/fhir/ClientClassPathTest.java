package ca.halo.core.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.hl7.fhir.r4.model.Binary;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Narrative;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HAPI on the class path the client artifacts give their users (issue 17). halo-core's tests run
 * without any server module, so what halo-core's POM excludes from HAPI is absent here, and the
 * parsers and the generic client must work without it.
 */
class ClientClassPathTest {
  private static final String DIV =
      "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Éloïse <b>Tremblay</b></p></div>";

  @ParameterizedTest
  @ValueSource(strings = {
      "org.apache.jena.rdf.model.Model", // Jena (RDF, ShEx)
      "net.sf.saxon.s9api.Processor", // Saxon-HE (XSLT)
      "com.ibm.icu.text.PluralRules", // icu4j
      "org.apache.http.client.HttpClient", // Apache HttpClient 4
      "org.apache.hc.client5.http.classic.HttpClient", // Apache HttpClient 5
      "com.google.protobuf.Message",
      "org.apache.thrift.TBase",
      "com.apicatalog.jsonld.JsonLd"})
  void forName_excludedLibrary_notOnTheClassPath(String className) {
    assertThatThrownBy(() -> Class.forName(className, false, getClass().getClassLoader()))
        .isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void encodeAndParse_narrativeExtensionAndBinary_roundTripInJsonAndXml() {
    FhirContext ctx = FhirContext.forR4Cached();
    Bundle bundle = new Bundle().setType(Bundle.BundleType.COLLECTION);
    bundle.addEntry().setResource(patient());
    bundle.addEntry().setResource(
        new Binary().setContentType("text/plain").setData("bonjour".getBytes(StandardCharsets.UTF_8)));

    for (IParser parser : new IParser[] {ctx.newJsonParser(), ctx.newXmlParser()}) {
      Bundle back = parser.parseResource(Bundle.class, parser.encodeResourceToString(bundle));
      Patient p = (Patient) back.getEntry().get(0).getResource();
      assertThat(p.getText().getDivAsString()).contains("Éloïse", "<b>Tremblay</b>");
      assertThat(p.getExtensionByUrl("https://example.org/ext").getValue().primitiveValue())
          .isEqualTo("v");
      assertThat(((Binary) back.getEntry().get(1).getResource()).getData())
          .asString(StandardCharsets.UTF_8).isEqualTo("bonjour");
    }
  }

  @Test
  void genericClient_freshContextWithoutApacheHttpClient_readsOverOkHttp() throws Exception {
    // a context no generic client was made from: HAPI's default (Apache) factory cannot be made
    FhirContext ctx = FhirContext.forR4();
    try (MockWebServer server = new MockWebServer(); HaloHttp http = HaloHttp.defaults()) {
      server.start(0);
      server.enqueue(new MockResponse.Builder().code(200)
          .setHeader("Content-Type", "application/fhir+xml")
          .body(ctx.newXmlParser().encodeResourceToString(patient())).build());

      Patient p = FhirClients.anonymousClient(ctx, URI.create(server.url("/fhir").toString()), http)
          .read().resource(Patient.class).withId("p1").execute();

      assertThat(p.getNameFirstRep().getFamily()).isEqualTo("Tremblay");
      assertThat(p.getText().getDivAsString()).contains("Éloïse");
      assertThat(server.takeRequest().getHeaders().get("User-Agent")).startsWith("halo-java-sdk");
    }
  }

  private static Patient patient() {
    Patient p = new Patient();
    p.setId("p1");
    p.addName().setFamily("Tremblay").addGiven("Éloïse");
    p.getText().setStatus(Narrative.NarrativeStatus.GENERATED).setDivAsString(DIV);
    p.addExtension().setUrl("https://example.org/ext").setValue(new StringType("v"));
    return p;
  }
}
