package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestClock;
import ca.halo.server.TestSofa;
import ca.halo.server.audit.InMemoryAuditSink;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.internal.Audits;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ContextExpiryAndAuditTest {
  private final TestClock clock = new TestClock(Instant.now());
  private final InMemoryAuditSink audit = new InMemoryAuditSink();
  private TestSofa sofa;

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.clock(clock).audit(audit).contextTimeToLive(Duration.ofMinutes(30))
        .accessTokenLifetime(Duration.ofHours(2)));
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  private static boolean has(InMemoryAuditSink sink, String subtype) {
    return sink.events().stream().anyMatch(e -> e.getSubtype().stream()
        .anyMatch(c -> Audits.SUBTYPE_SYSTEM.equals(c.getSystem()) && subtype.equals(c.getCode())));
  }

  @Test
  void expiredContext_deletedWithItsResources_andAudited() throws Exception {
    Browser b = new Browser();
    String emr = sofa.emrToken(b, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    String launch = TestSofa.launchId(out);
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isEqualTo(6);
    clock.advance(Duration.ofMinutes(31));
    // an expired launch cannot be used even before the sweep runs
    Browser.Authz a = b.authorize(sofa.authorize(), Map.of("client_id", "app", "redirect_uri",
        TestSofa.APP_REDIRECT.toString(), "aud", sofa.fhirBase().toString(), "launch", launch,
        "scope", "launch patient/*.rs"), "dr.tremblay", "password");
    assertThat(a.callback()).containsEntry("error", "invalid_request");
    assertThat(sofa.server.contextManager().expireNow()).isEqualTo(1);
    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).isZero();
    assertThat(sofa.server.contexts().size()).isZero();
    assertThat(has(audit, "context-expiry")).isTrue();
  }

  @Test
  void auditEvents_forSetContextTokenReadWriteAndClear_withoutResourceBodies() throws Exception {
    Browser b = new Browser();
    String emr = sofa.emrToken(b, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    String app = sofa.appToken(b, TestSofa.launchId(out));
    String patient = ((org.hl7.fhir.r4.model.Bundle) out.getParameter("resourcesResponse").getResource())
        .getEntryFirstRep().getResponse().getLocation().split("/")[1];
    sofa.fhir(app).read().resource(org.hl7.fhir.r4.model.Patient.class).withId(patient).execute();
    sofa.fhir(app).create().resource(TestSofa.weight(patient, 12)).execute();
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(out.getParameter("launchID").getValue());
    sofa.fhir(emr).operation().onServer().named("$clear-context").withParameters(clear).execute();
    for (String s : new String[] {"set-context", "token-issue", "read", "create", "clear-context"}) {
      assertThat(has(audit, s)).as(s).isTrue();
    }
    String all = TestSofa.CTX.newJsonParser().encodeResourceToString(audit.events().get(0));
    for (AuditEvent e : audit.events()) {
      String json = TestSofa.CTX.newJsonParser().encodeResourceToString(e);
      assertThat(json).doesNotContain("Tremblay").doesNotContain("Léa");
    }
    assertThat(all).contains("halo-audit-subtype");
  }

  @Test
  void authorizePost_accepted() throws Exception {
    Browser b = new Browser();
    String[] pkce = Browser.pkce();
    HttpResponse<String> r = b.postForm(sofa.authorize(), Map.of("response_type", "code",
        "client_id", "emr", "redirect_uri", TestSofa.EMR_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "scope", "openid user/*.rs", "state", "post-1", "code_challenge", pkce[1],
        "code_challenge_method", "S256"), null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("name=\"interaction\"");
    assertThat(URI.create("http://x").isAbsolute()).isTrue();
  }
}
