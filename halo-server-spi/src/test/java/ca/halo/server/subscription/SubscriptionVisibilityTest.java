package ca.halo.server.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.TestSofa;
import ca.halo.server.authz.RegisteredClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Item 1 of the hardening issue: a subscriber is only ever sent (rest-hook, {@code $events},
 * {@code $status}) what its own principal could read through the FHIR API at that moment, and
 * only the PoC that set a context, the launched app (its own launch) or an administrator may
 * subscribe.
 */
class SubscriptionVisibilityTest {
  private TestSofa sofa;
  private Browser browser;
  private String tremblay;
  private String launch;

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.subscriptionSettings(s -> s.maxAttempts(100)
        .initialBackoff(Duration.ofMillis(50)).maxBackoff(Duration.ofMillis(100))));
    sofa.clients.register(RegisteredClient.builder("sub-app").name("Subscribing app")
        .redirectUri(TestSofa.APP_REDIRECT)
        .allowedScopes(SmartScopes.parse("launch patient/*.rs patient/Observation.cruds"
            + " patient/Subscription.cruds"))
        .build());
    browser = new Browser();
    tremblay = sofa.emrToken(browser, "dr.tremblay", "password");
    launch = sofa.setContext(tremblay, "growth-chart");
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  private String appWrites(String appToken) {
    String patient = patientOf(appToken);
    return sofa.fhir(appToken).create().resource(TestSofa.weight(patient, 18.2)).execute()
        .getId().toUnqualifiedVersionless().getValue();
  }

  private String patientOf(String appToken) {
    return sofa.server.authorizationServer().tokenValidator().validate(appToken).orElseThrow()
        .patient().orElseThrow();
  }

  private static SubscriptionNotification bundle(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return SubscriptionNotification.parse((Bundle) TestSofa.CTX.newJsonParser().parseResource(r.body()));
  }

  @Test
  void restHookEventsStatus_anotherClinicianSessionWrite_neverSentToOthers_item1() throws Exception {
    try (HookReceiver owner = new HookReceiver(); HookReceiver backend = new HookReceiver();
        HookReceiver roy = new HookReceiver()) {
      String backendToken = sofa.backendToken("system/*.rs system/Context.write");
      String royToken = sofa.emrToken(new Browser(), "dr.roy", "password2");
      String own = Subs.created(sofa, tremblay, Subs.restHook(owner.url(), Subs.launchFilter(launch),
          "full-resource"));
      String bs = Subs.created(sofa, backendToken, Subs.restHook(backend.url(), null, "full-resource"));
      String rs = Subs.created(sofa, royToken, Subs.restHook(roy.url(), null, "full-resource"));
      for (HookReceiver r : new HookReceiver[] {owner, backend, roy}) {
        assertThat(r.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      }

      String written = appWrites(sofa.appToken(browser, launch));

      // the owner hears of it, with the resource (it may read it)
      assertThat(owner.await(x -> !x.events().isEmpty(), Duration.ofSeconds(10))).isTrue();
      NotificationEvent e = owner.events().get(0);
      assertThat(e.focus()).hasValue(written);
      assertThat(e.resource()).hasValueSatisfying(r -> assertThat(r).isInstanceOf(Observation.class));
      // the others: a direct read is 404, and nothing was numbered, sent, or answerable
      assertThat(Subs.get(sofa, "/" + written, backendToken).statusCode()).isEqualTo(404);
      assertThat(Subs.get(sofa, "/" + written, royToken).statusCode()).isEqualTo(404);
      for (Object[] o : new Object[][] {{bs, backendToken, backend}, {rs, royToken, roy}}) {
        SubscriptionNotification status = bundle(Subs.get(sofa, "/Subscription/" + o[0] + "/$status",
            (String) o[1]));
        assertThat(status.eventsSinceSubscriptionStart()).isZero();
        SubscriptionNotification events = bundle(Subs.get(sofa, "/Subscription/" + o[0]
            + "/$events?eventsSinceNumber=1&content=full-resource", (String) o[1]));
        assertThat(events.events()).isEmpty();
        assertThat(((HookReceiver) o[2]).events()).isEmpty();
      }
      assertThat(Subs.get(sofa, "/Subscription/" + own + "/$status", tremblay).body()).contains("\"1\"");
    }
  }

  @Test
  void create_launchFilterOfAnotherCallersContext_refused403_item1() throws Exception {
    try (HookReceiver r = new HookReceiver()) {
      String royToken = sofa.emrToken(new Browser(), "dr.roy", "password2");
      String backendToken = sofa.backendToken("system/*.rs system/Context.write");
      for (String token : new String[] {royToken, backendToken}) {
        HttpResponse<String> refused = Subs.create(sofa, token,
            Subs.restHook(r.url(), Subs.launchFilter(launch), "full-resource"));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
        assertThat(refused.body()).contains("OperationOutcome").contains("launch");
      }
      // a token that is neither a PoC, a launched app nor an administrator
      String reader = sofa.backendToken("system/*.rs");
      HttpResponse<String> refused = Subs.create(sofa, reader, Subs.restHook(r.url(), null, null));
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
      assertThat(sofa.server.subscriptions().size()).isZero();
    }
  }

  @Test
  void delivery_resourceGoneBeforeDelivery_eventSentWithoutFocus_item1() throws Exception {
    try (HookReceiver owner = new HookReceiver()) {
      Subs.created(sofa, tremblay, Subs.restHook(owner.url(), Subs.launchFilter(launch), "id-only"));
      assertThat(owner.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      owner.answer(503); // the EMR is down: the event waits
      String written = appWrites(sofa.appToken(browser, launch));
      int before = owner.received().size();
      assertThat(owner.await(x -> x.received().size() > before, Duration.ofSeconds(10))).isTrue();
      sofa.clearContext(tremblay, launch); // the session and what it stored are gone
      owner.answer(200);
      assertThat(owner.await(x -> !x.events().isEmpty(), Duration.ofSeconds(10))).isTrue();
      NotificationEvent e = owner.events().get(0);
      assertThat(e.number()).isEqualTo(1);
      assertThat(e.focus()).as("focus of a resource the subscriber can no longer read").isEmpty();
      assertThat(owner.received().stream().filter(x -> x.answered() < 300)
          .anyMatch(x -> x.body().contains(written))).as("no accepted notification names it").isFalse();
    }
  }

  @Test
  void appSubscription_confinedToItsLaunch_andEndsWithIt_item1() throws Exception {
    String bare = sofa.setContext(tremblay, null);
    Browser.Authz a = browser.authorize(sofa.authorize(), Map.of("client_id", "sub-app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "launch", bare, "scope", "launch patient/*.rs patient/Observation.cruds patient/Subscription.cruds"),
        "dr.tremblay", "password");
    String appToken = TestSofa.json(browser.postForm(sofa.token(), Map.of("grant_type",
        "authorization_code", "code", a.callback().get("code"), "redirect_uri",
        TestSofa.APP_REDIRECT.toString(), "code_verifier", a.verifier, "client_id", "sub-app"), null)
        .body()).get("access_token").asText();
    try (HookReceiver r = new HookReceiver()) {
      // another launch, another patient: refused
      assertThat(Subs.create(sofa, appToken, Subs.restHook(r.url(), Subs.launchFilter(launch), null))
          .statusCode()).isEqualTo(403);
      assertThat(Subs.create(sofa, appToken, Subs.restHook(r.url(), "Observation?patient=someone-else",
          null)).statusCode()).isEqualTo(403);
      String id = Subs.created(sofa, appToken, Subs.restHook(r.url(), null, "id-only"));
      assertThat(r.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      String written = appWrites(appToken);
      assertThat(r.await(x -> !x.events().isEmpty(), Duration.ofSeconds(10))).isTrue();
      assertThat(r.events().get(0).focus()).hasValue(written);
      // invisible to the PoC's own listing: it belongs to the app's launch
      assertThat(Subs.get(sofa, "/Subscription/" + id, tremblay).statusCode()).isEqualTo(404);
      sofa.clearContext(tremblay, bare);
      assertThat(sofa.server.subscriptions().size()).isZero();
    }
  }

  @Test
  void getWsBindingToken_typeLevelWithValueId_accepted_item4() throws Exception {
    String id = Subs.created(sofa, tremblay, Subs.websocket(Subs.launchFilter(launch)));
    Subscription read = Subs.read(sofa, tremblay, id);
    assertThat(read.getStatus()).isEqualTo(Subscription.SubscriptionStatus.ACTIVE);
    for (org.hl7.fhir.r4.model.Type v : new org.hl7.fhir.r4.model.Type[] {
        new org.hl7.fhir.r4.model.IdType(id), new org.hl7.fhir.r4.model.StringType("Subscription/" + id)}) {
      HttpResponse<String> r = Subs.post(sofa, "/Subscription/$get-ws-binding-token", tremblay,
          TestSofa.CTX.newJsonParser().encodeResourceToString(Subs.params("id", v)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).contains("\"token\"").contains("websocket-url");
    }
    // another caller's subscription: 404, whatever the type
    String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
    HttpResponse<String> r = Subs.post(sofa, "/Subscription/$get-ws-binding-token", roy,
        TestSofa.CTX.newJsonParser().encodeResourceToString(Subs.params("id",
            new org.hl7.fhir.r4.model.IdType(id))));
    assertThat(r.statusCode()).isEqualTo(404);
  }
}
