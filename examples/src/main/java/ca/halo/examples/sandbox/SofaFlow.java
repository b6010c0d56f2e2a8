package ca.halo.examples.sandbox;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.catalog.AppQuery;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.server.fhir.SearchCriteria;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.subscription.NotificationConsumer;
import ca.halo.subscription.RestHookHandler;
import ca.halo.subscription.RestHookReceiver;
import ca.halo.subscription.SubscriptionClient;
import ca.halo.subscription.SubscriptionRequest;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenIntrospection;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.ClearContextResult;
import ca.halo.sofa.SetContextRequest;
import ca.halo.sofa.SetContextResult;
import ca.halo.sofa.SofaClient;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;

/**
 * The SoFA flow of HALO, driven with the SDK's own clients against the sandbox jurisdiction:
 * catalog query, clinician login, {@code $set-context}, token validation, subscription, app
 * launch, discovery, authorization, read and write-back, the write-back reaching the EMR through
 * its subscription, {@code $clear-context}, and a check that nothing is left.
 */
public final class SofaFlow {
  private SofaFlow() {}

  public static Steps run(Jurisdiction j, PrintStream out) {
    FhirContext ctx = j.sofa.fhirContext();
    Steps s = new Steps(out, "SoFA", 13);
    Map<String, Object> st = new HashMap<>();
    java.util.List<NotificationEvent> writeBacks = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch writeBackArrived = new java.util.concurrent.CountDownLatch(1);
    try (HaloHttp http = HaloHttp.defaults();
        AppCatalogClient catalog = AppCatalogClient.builder().http(http)
            .baseUrl(j.sofa.catalogBase()).build();
        SmartAppClient emrLogin = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.clientSecretBasic(
                Jurisdiction.EMR_CLIENT_ID, Jurisdiction.EMR_SECRET))
            .redirectUri(j.emrRedirect).build()) {
      HeadlessBrowser browser = new HeadlessBrowser();
      SampleChart chart = new SampleChart();
      URI sofaBase = j.sofa.fhirBase();

      s.step("App Catalog query (CA:AC-1)", () -> {
        var page = catalog.list(AppQuery.builder().launchType("ehr").build());
        AppListing app = catalog.get("growth-chart").orElseThrow();
        Steps.check(app.isActive() && app.needsPatientContext(), "growth-chart must be an active patient app");
        st.put("app", app);
        return page.total() + " approved EHR-launch apps; chose '" + app.name() + "'";
      });

      s.step("Clinician login at the jurisdictional IdP (code + PKCE)", () -> {
        AuthorizationRedirect r = emrLogin.beginStandaloneLaunch(sofaBase,
            SmartScopes.parse(Jurisdiction.EMR_SCOPES));
        URI back = browser.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
        TokenSet t = emrLogin.completeAuthorization(r.pending(), back);
        st.put("emrTokens", t);
        return "signed in " + t.fhirUser().orElse("?") + "; scopes: " + t.scopes();
      });

      s.step("$set-context: Patient, Encounter, Practitioner + 3 (CA:SoFA-1)", () -> {
        TokenSet t = (TokenSet) st.get("emrTokens");
        AccessTokenProvider tokens = emrLogin.tokenProvider(sofaBase, t);
        SofaClient sofa = SofaClient.builder().http(http).fhirContext(ctx).fhirBase(sofaBase)
            .tokens(tokens).build();
        st.put("sofaClient", sofa);
        SetContextResult r = sofa.setContext(SetContextRequest.builder()
            .appId("growth-chart").patient(chart.patient).encounter(chart.encounter)
            .fhirUser(chart.practitioner).addFhirContext(chart.condition)
            .addResource(chart.height).addResource(chart.allergy)
            .needPatientBanner(true).intent("growth-review").build());
        st.put("context", r);
        return "launchID received; " + r.idMap().size() + " resources mapped, e.g. "
            + "Patient/" + chart.patient.getIdPart() + " -> " + r.sofaId(chart.patient).orElseThrow().reference();
      });

      s.step("SoFA validates the EMR's token (RFC 7662 introspection)", () -> {
        TokenSet t = (TokenSet) st.get("emrTokens");
        TokenIntrospection i = emrLogin.introspect(sofaBase, t.accessToken().value());
        Steps.check(i.active(), "the EMR's token must be active");
        Steps.check(i.scopes().contains("user/Context.write"), "the token must carry user/Context.write");
        return "active, client " + i.clientId().orElse("?") + ", scope user/Context.write present";
      });

      s.step("EMR subscribes to SoFA content updates (CA:FSub, rest-hook)", () -> {
        TokenSet t = (TokenSet) st.get("emrTokens");
        SetContextResult r = (SetContextResult) st.get("context");
        SubscriptionClient subs = SubscriptionClient.builder().http(http).fhirContext(ctx)
            .fhirBase(sofaBase).tokens(emrLogin.tokenProvider(sofaBase, t)).build();
        st.put("subs", subs);
        NotificationConsumer consumer = NotificationConsumer.builder(subs, (id, e) -> {
          writeBacks.add(e);
          writeBackArrived.countDown();
        }).fetchFocus(true).build();
        String secret = java.util.UUID.randomUUID().toString();
        RestHookReceiver receiver = RestHookReceiver.start(j.sofa.baseUrl().getHost(), 0, "/emr/hook",
            RestHookHandler.builder(consumer).fhirContext(ctx)
                .requireHeader("Authorization", "Bearer " + secret).build());
        st.put("receiver", receiver);
        org.hl7.fhir.r4.model.Subscription sub = subs.create(SubscriptionRequest.restHook(receiver.url())
            .header("Authorization", "Bearer " + secret).launch(r.launchId())
            .payload(PayloadContent.ID_ONLY).heartbeatPeriod(java.time.Duration.ofSeconds(30)).build());
        subs.awaitActive(sub.getIdPart(), java.time.Duration.ofSeconds(10));
        st.put("subscription", sub.getIdPart());
        return "Subscription/" + sub.getIdPart() + " active after handshake to " + receiver.url();
      });

      s.step("Launch the app (iss = SoFA base, launch = launchID)", () -> {
        AppListing app = (AppListing) st.get("app");
        SetContextResult r = (SetContextResult) st.get("context");
        URI launchUrl = ((SofaClient) st.get("sofaClient")).launchUrl(app.launchUrl().orElseThrow(), r.launchId());
        Map<String, String> q = query(launchUrl);
        Steps.check(q.get("iss").equals(sofaBase.toString()), "iss must be the SoFA base");
        st.put("iss", URI.create(q.get("iss")));
        st.put("launch", q.get("launch"));
        return app.launchUrl().orElseThrow() + "?iss=...&launch=...";
      });

      SmartAppClient app = SmartAppClient.builder().http(http)
          .clientAuthentication(ClientAuthentication.publicClient("growth-chart"))
          .redirectUri(URI.create(j.sofa.baseUrl() + "/apps/growth-chart/callback")).build();
      st.put("appClient", app);

      s.step("App discovers the SoFA (.well-known/smart-configuration)", () -> {
        SmartConfiguration c = app.discover((URI) st.get("iss"));
        return "token endpoint " + c.tokenEndpoint() + ", PKCE " + c.codeChallengeMethodsSupported();
      });

      s.step("App authorizes (code + PKCE, SSO); context in token response", () -> {
        AppListing listing = (AppListing) st.get("app");
        AuthorizationRedirect r = app.beginEhrLaunch((URI) st.get("iss"), (String) st.get("launch"),
            listing.scopes());
        URI back = browser.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
        TokenSet t = app.completeAuthorization(r.pending(), back);
        SetContextResult sc = (SetContextResult) st.get("context");
        Steps.check(t.launchContext().patient().orElse("").equals(sc.sofaId(chart.patient).orElseThrow().id()),
            "the token response must name the uploaded patient");
        Steps.check(t.launchContext().encounter().isPresent(), "the token response must carry the encounter");
        st.put("appTokens", t);
        return "patient, encounter, " + t.launchContext().fhirContext().size() + " fhirContext item(s), banner="
            + t.launchContext().needPatientBanner().orElse(false) + ", fhirUser=" + t.fhirUser().orElse("?");
      });

      s.step("App reads its context (Patient, Observations)", () -> {
        TokenSet t = (TokenSet) st.get("appTokens");
        IGenericClient fhir = FhirClients.genericClient(ctx, (URI) st.get("iss"), http,
            app.tokenProvider((URI) st.get("iss"), t));
        st.put("appFhir", fhir);
        String pid = t.launchContext().patient().orElseThrow();
        Patient p = fhir.read().resource(Patient.class).withId(pid).execute();
        Bundle obs = fhir.search().forResource(Observation.class)
            .where(Observation.PATIENT.hasId(pid)).returnBundle(Bundle.class).execute();
        Steps.check(p.getNameFirstRep().getFamily().equals("Bouchard"), "wrong patient");
        return p.getNameFirstRep().getNameAsSingleString() + "; " + obs.getEntry().size() + " observation(s)";
      });

      s.step("App writes back an Observation (body weight)", () -> {
        TokenSet t = (TokenSet) st.get("appTokens");
        IGenericClient fhir = (IGenericClient) st.get("appFhir");
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
        o.setSubject(new Reference("Patient/" + t.launchContext().patient().orElseThrow()));
        t.launchContext().encounter().ifPresent(e -> o.setEncounter(new Reference("Encounter/" + e)));
        o.setValue(new Quantity().setValue(18.2).setUnit("kg").setSystem("http://unitsofmeasure.org").setCode("kg"));
        var outcome = fhir.create().resource(o).execute();
        st.put("writeBack", "Observation/" + outcome.getId().getIdPart());
        return "created " + st.get("writeBack");
      });

      s.step("EMR receives the write-back and maps it to its record", () -> {
        Steps.check(writeBackArrived.await(15, java.util.concurrent.TimeUnit.SECONDS),
            "no notification reached the EMR");
        NotificationEvent e = writeBacks.get(0);
        Steps.check(e.focus().orElse("").equals(st.get("writeBack")), "the event names another resource");
        Observation o = (Observation) e.resource().orElseThrow();
        SetContextResult r = (SetContextResult) st.get("context");
        String local = r.localKeyOf(o.getSubject().getReference()).orElseThrow(() ->
            new AssertionError("the write-back's subject is not a patient the EMR uploaded"));
        Steps.check(local.equals("Patient/" + chart.patient.getIdPart()), "mapped to the wrong patient");
        return "event #" + e.number() + " " + o.getCode().getCodingFirstRep().getDisplay() + " "
            + o.getValueQuantity().getValue() + " " + o.getValueQuantity().getUnit() + " -> local " + local;
      });

      s.step("$clear-context (CA:SoFA-2)", () -> {
        SetContextResult r = (SetContextResult) st.get("context");
        ClearContextResult c = ((SofaClient) st.get("sofaClient")).clearContext(r.launchId());
        Steps.check(c.cleared(), "the SoFA must confirm the clear");
        return c.summary();
      });

      s.step("Nothing of the session is left on the SoFA", () -> {
        SetContextResult r = (SetContextResult) st.get("context");
        int left = 0;
        for (var id : r.idMap().values()) {
          left += j.sofa.repository().read(id.type(), id.id()).isPresent() ? 1 : 0;
        }
        String wb = (String) st.get("writeBack");
        left += j.sofa.repository().read("Observation", wb.split("/")[1]).isPresent() ? 1 : 0;
        Steps.check(left == 0, left + " resource(s) of the session are still stored");
        Steps.check(j.sofa.contexts().size() == 0, "a launch context is still stored");
        Steps.check(j.sofa.repository().search("Patient", SearchCriteria.builder()
            .identifier(null, "MRN-1001").build()).isEmpty(), "the patient is still searchable");
        return (r.idMap().size() + 1) + " resources and the context are gone";
      });
      app.close();
      if (st.get("subs") != null) {
        SubscriptionClient subs = (SubscriptionClient) st.get("subs");
        if (st.get("subscription") != null) {
          subs.delete((String) st.get("subscription"));
        }
        subs.close();
      }
      if (st.get("receiver") != null) {
        ((RestHookReceiver) st.get("receiver")).close();
      }
      if (st.get("sofaClient") != null) {
        ((SofaClient) st.get("sofaClient")).close();
      }
    }
    return s;
  }

  static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    for (String pair : uri.getRawQuery().split("&")) {
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }
}
