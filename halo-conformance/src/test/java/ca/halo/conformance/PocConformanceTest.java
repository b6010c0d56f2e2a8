package ca.halo.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.core.SmartScopes;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.examples.sandbox.HeadlessBrowser;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SetContextRequest;
import ca.halo.sofa.SetContextResult;
import ca.halo.sofa.SofaClient;
import ca.halo.subscription.NotificationConsumer;
import ca.halo.subscription.RestHookHandler;
import ca.halo.subscription.RestHookReceiver;
import ca.halo.subscription.SubscriptionClient;
import ca.halo.subscription.SubscriptionRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.Test;

/**
 * The kit's {@code poc} target: it plays the SoFA, and the SDK's own EMR flow (sign-in,
 * {@code SofaClient}, a rest-hook {@code NotificationConsumer}, launch, clear) passes every check;
 * an EMR that launches without {@code iss} and never clears fails exactly those checks.
 */
class PocConformanceTest {
  private static final URI REDIRECT = URI.create("http://127.0.0.1:9/emr/callback");

  /** The EMR's side, written with the SDK; returns the write-backs it received. */
  static List<NotificationEvent> emr(PocSession kit, boolean clear, boolean withIss) throws Exception {
    List<NotificationEvent> got = new CopyOnWriteArrayList<>();
    URI sofaBase = kit.fhirBase();
    try (HaloHttp http = HaloHttp.defaults();
        SmartAppClient login = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.clientSecretBasic("poc-emr", "poc-emr-secret-0123456789"))
            .redirectUri(REDIRECT).build();
        AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(kit.catalogBase()).build()) {
      AuthorizationRedirect r = login.beginStandaloneLaunch(sofaBase,
          SmartScopes.parse("openid fhirUser user/Context.write user/*.rs"));
      TokenSet clinician = login.completeAuthorization(r.pending(),
          new HeadlessBrowser().authorize(r.uri(), kit.username(), kit.password()));
      AppListing app = catalog.get(PocSession.APP_ID).orElseThrow();
      Patient patient = new Patient();
      patient.setId("emr-patient-1");
      patient.addName().setFamily("Poc").addGiven("Kit");
      Encounter visit = new Encounter();
      visit.setId("emr-visit-1");
      visit.setStatus(Encounter.EncounterStatus.INPROGRESS);
      visit.setClass_(new org.hl7.fhir.r4.model.Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"));
      visit.setSubject(new org.hl7.fhir.r4.model.Reference("Patient/emr-patient-1"));
      try (SofaClient sofa = SofaClient.builder().http(http).fhirBase(sofaBase)
              .tokens(login.tokenProvider(sofaBase, clinician)).build();
          SubscriptionClient subs = SubscriptionClient.builder().http(http).fhirBase(sofaBase)
              .tokens(login.tokenProvider(sofaBase, clinician)).build()) {
        SetContextResult ctx = sofa.setContext(SetContextRequest.builder()
            .appId(app.id()).patient(patient).encounter(visit).needPatientBanner(true).build());
        String secret = UUID.randomUUID().toString();
        NotificationConsumer consumer = NotificationConsumer.builder(subs, (id, e) -> got.add(e)).build();
        try (RestHookReceiver hook = RestHookReceiver.start("127.0.0.1", 0, "/hook",
            RestHookHandler.builder(consumer).requireHeader("Authorization", "Bearer " + secret).build())) {
          var sub = subs.create(SubscriptionRequest.restHook(hook.url())
              .header("Authorization", "Bearer " + secret).launch(ctx.launchId())
              .payload(PayloadContent.ID_ONLY).build());
          subs.awaitActive(sub.getIdPart(), Duration.ofSeconds(10));
          URI launch = withIss ? sofa.launchUrl(app.launchUrl().orElseThrow(), ctx.launchId())
              : URI.create(app.launchUrl().orElseThrow() + "?launch=" + ctx.launchId());
          // the clinician's browser opens the app
          HttpClient.newHttpClient().send(HttpRequest.newBuilder(launch).build(), HttpResponse.BodyHandlers.discarding());
          long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
          while (withIss && got.size() < 2 && System.nanoTime() < end) {
            Thread.sleep(100);
          }
          if (clear) {
            sofa.clearContext(ctx.launchId());
          }
        }
      }
    }
    return got;
  }

  private static PocSession kit() {
    return PocSession.builder().emrClient("poc-emr", "poc-emr-secret-0123456789", REDIRECT).start();
  }

  @Test
  void pocTarget_theSdksEmrFlow_everyCheckPasses() throws Exception {
    try (PocSession kit = kit()) {
      List<NotificationEvent> got = emr(kit, true, true);
      assertThat(kit.awaitClearContext(Duration.ofSeconds(10))).isTrue();
      ConformanceReport r = kit.report();
      r.writeHtml(Path.of("target", "conformance", "poc", "report.html"));
      assertThat(SandboxConformanceTest.failures(r)).as("checks that did not pass").isEmpty();
      assertThat(r.results()).hasSize(9);
      // both write-backs reached the EMR, the first one through its $events recovery
      assertThat(got.stream().map(NotificationEvent::number).collect(Collectors.toSet())).isEqualTo(Set.of(1L, 2L));
    }
  }

  @Test
  void pocTarget_anEmrThatLaunchesWithoutIssAndNeverClears_failsThoseChecks() throws Exception {
    try (PocSession kit = kit()) {
      emr(kit, false, false);
      assertThat(kit.awaitClearContext(Duration.ofMillis(500))).isFalse();
      ConformanceReport r = kit.report();
      assertThat(r.result("poc.launch.url").orElseThrow().outcome()).isEqualTo(Outcome.FAIL);
      assertThat(r.result("poc.launch.url").orElseThrow().rule().source()).contains("CA:SoF-1");
      assertThat(r.result("poc.clear-context.sent").orElseThrow().outcome()).isEqualTo(Outcome.FAIL);
      assertThat(r.result("poc.clear-context.sent").orElseThrow().rule().source()).contains("CA:SoFA-2");
      // what it did right still passes
      assertThat(r.result("poc.sign-in.pkce").orElseThrow().outcome()).isEqualTo(Outcome.PASS);
      assertThat(r.result("poc.set-context.valid").orElseThrow().outcome()).isEqualTo(Outcome.PASS);
    }
  }
}
