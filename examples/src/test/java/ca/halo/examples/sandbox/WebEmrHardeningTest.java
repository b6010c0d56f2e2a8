package ca.halo.examples.sandbox;

import static ca.halo.examples.sandbox.SandboxBrowser.location;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The web EMR ({@code /emr/*}) against what an attacker tried (item 16 of the hardening issue),
 * on the sandbox's real servlets over loopback HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebEmrHardeningTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Jurisdiction j;
  private URI base;

  @BeforeAll
  void start() {
    j = Serve.withWebPages("127.0.0.1", 0);
    base = j.sofa.baseUrl();
  }

  @AfterAll
  void stop() {
    j.close();
  }

  // ---------------------------------------------------------------- /emr/hook

  @Test
  void hook_postWithoutSecret_refusedWith401BeforeBodyIsRead() throws Exception {
    // 256 MiB announced, nothing sent: a server that reads the body first never answers
    for (String path : new String[] {"/emr/hook", "/emr/hook/not-a-route"}) {
      String head = "POST " + path + " HTTP/1.1\r\nHost: " + base.getAuthority()
          + "\r\nContent-Type: application/fhir+json\r\nContent-Length: 268435456\r\n";
      assertThat(SandboxBrowser.rawStatusLine(base, head, new byte[0], Duration.ofSeconds(5)))
          .as(path).startsWith("HTTP/1.1 401");
      assertThat(SandboxBrowser.rawStatusLine(base, head + "Authorization: Bearer guessed\r\n", new byte[0],
          Duration.ofSeconds(5))).as(path + " with a wrong secret").startsWith("HTTP/1.1 401");
    }
  }

  // ---------------------------------------------------------------- session fixation

  @Test
  void callback_signInWithPlantedSessionCookie_issuesFreshIdAndOldIdSeesNoChart() throws Exception {
    SandboxBrowser victim = new SandboxBrowser(base);
    HttpResponse<String> toIdp = victim.startEmrSignIn();
    String planted = victim.cookie("emr_session"); // what an attacker got for itself and planted
    assertThat(planted).isNotNull();

    HttpResponse<String> chart = victim.finishEmrSignIn(toIdp);

    assertThat(chart.body()).contains("id=\"patient-name\"");
    assertThat(victim.cookie("emr_session")).isNotNull().isNotEqualTo(planted);
    SandboxBrowser attacker = new SandboxBrowser(base);
    attacker.plantCookie("emr_session", planted, "/emr");
    HttpResponse<String> r = attacker.get("/emr/");
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(r.body()).doesNotContain("Bouchard");
    assertThat(location(r).toString()).startsWith(j.sofa.authorizationServer().authorizationEndpoint().toString());
  }

  // ---------------------------------------------------------------- write-backs.json

  @Test
  void writeBacksJson_displayWithNewlineQuotesAndMarkup_staysValidJsonAndEscapedOnPage() throws Exception {
    String display = "Body weight\nline 2 \"quoted\" \\ back\u2028sep </li><script>alert(1)</script>";
    SandboxBrowser b = new SandboxBrowser(base);
    b.signInToEmr();
    writeBackAsApp(b, display);

    assertThat(SandboxBrowser.eventually(Duration.ofSeconds(15), () -> writeBacksRaw(b).contains("line 2")))
        .as("the write-back reached the EMR").isTrue();
    HttpResponse<String> r = b.get("/emr/write-backs.json");
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
    JsonNode list = JSON.readTree(r.body());
    assertThat(list.isArray()).isTrue();
    assertThat(list.get(0).asText()).startsWith(display + " 18.4 kg (for Patient/emr-pat-1001");
    String page = b.get("/emr/").body();
    assertThat(page).contains("&lt;/li&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
        .doesNotContain("<script>alert(1)");
  }

  private static String writeBacksRaw(SandboxBrowser b) {
    try {
      return b.get("/emr/write-backs.json").body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Plays the app of an EMR launch with the SDK's own client (so the test chooses what it writes):
   * the launch's iss and launch id, authorization through the single sign-on, and an Observation
   * with {@code display} written to the SoFA.
   */
  private void writeBackAsApp(SandboxBrowser b, String display) throws Exception {
    Map<String, String> q = SandboxBrowser.query(location(b.pressLaunch("growth-chart")));
    URI iss = URI.create(q.get("iss"));
    try (HaloHttp http = HaloHttp.defaults();
        SmartAppClient app = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.publicClient("growth-chart"))
            .redirectUri(URI.create(base + "/apps/growth-chart/callback")).build()) {
      AuthorizationRedirect r = app.beginEhrLaunch(iss, q.get("launch"),
          SmartScopes.parse("launch openid fhirUser patient/*.rs patient/Observation.c"));
      TokenSet t = app.completeAuthorization(r.pending(),
          b.idp.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD));
      IGenericClient fhir = FhirClients.genericClient(j.sofa.fhirContext(), iss, http, app.tokenProvider(iss, t));
      Observation o = new Observation();
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", display)));
      o.setSubject(new Reference("Patient/" + t.launchContext().patient().orElseThrow()));
      o.setValue(new Quantity().setValue(18.4).setUnit("kg").setSystem("http://unitsofmeasure.org").setCode("kg"));
      fhir.create().resource(o).execute();
    }
  }
}
