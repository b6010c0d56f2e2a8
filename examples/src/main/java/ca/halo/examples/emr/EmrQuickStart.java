package ca.halo.examples.emr;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.core.SmartScopes;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.examples.sandbox.HeadlessBrowser;
import ca.halo.examples.sandbox.Jurisdiction;
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
import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.util.UUID;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Patient;

/**
 * The HALO PoC actor in one page, for EMR developers to copy: sign the clinician in at the
 * jurisdictional IdP, pick an approved app, set the context on the SoFA, subscribe to
 * write-backs, launch, and clear. Runs against the sandbox's embedded jurisdiction:
 *
 * <pre>
 *   mvn -B -q -DskipTests install && mvn -B -q -pl examples exec:java -Dexec.mainClass=ca.halo.examples.emr.EmrQuickStart
 * </pre>
 *
 * <p>In a real EMR the two {@code browser.authorize(...)} calls are your user's browser: send it
 * to {@code r.uri()} and receive the callback on your redirect URI.
 */
public final class EmrQuickStart {
  private EmrQuickStart() {}

  public static void main(String[] args) throws Exception {
    try (Jurisdiction jurisdiction = new Jurisdiction("127.0.0.1", 0, b -> { })) {
      URI sofaBase = jurisdiction.sofa.fhirBase();                    // from your configuration
      URI catalogBase = jurisdiction.sofa.catalogBase();
      HeadlessBrowser browser = new HeadlessBrowser();                 // stands in for the user's browser

      try (HaloHttp http = HaloHttp.defaults();
          SmartAppClient login = SmartAppClient.builder().http(http)
              .clientAuthentication(ClientAuthentication.clientSecretBasic(
                  Jurisdiction.EMR_CLIENT_ID, Jurisdiction.EMR_SECRET))
              .redirectUri(jurisdiction.emrRedirect).build();
          AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(catalogBase).build()) {

        // The SubscriptionClient (step 4) uses HAPI, whose context loads every R4 class on first
        // use: start that now, while the clinician signs in ($set-context does not need it).
        FhirClients.warmUp(FhirContext.forR4Cached());

        // 1. The clinician signs in at the jurisdictional IdP (auth code + PKCE).
        AuthorizationRedirect r = login.beginStandaloneLaunch(sofaBase,
            SmartScopes.parse("openid fhirUser user/Context.write user/*.rs"));
        URI callback = browser.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
        TokenSet clinician = login.completeAuthorization(r.pending(), callback);

        // 2. Pick an approved app from the App Catalog.
        AppListing app = catalog.get("growth-chart").orElseThrow();

        // 3. Upload the context: your own resources, with your own ids.
        Patient patient = new Patient();
        patient.setId("my-emr-patient-42");
        patient.addName().setFamily("Gagnon").addGiven("Émile");
        Encounter visit = new Encounter();
        visit.setId("my-emr-visit-7");
        visit.setStatus(Encounter.EncounterStatus.INPROGRESS);
        visit.setClass_(new org.hl7.fhir.r4.model.Coding(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"));
        visit.setSubject(new org.hl7.fhir.r4.model.Reference("Patient/my-emr-patient-42"));
        try (SofaClient sofa = SofaClient.builder().http(http).fhirBase(sofaBase)
                .tokens(login.tokenProvider(sofaBase, clinician)).build();
            SubscriptionClient subs = SubscriptionClient.builder().http(http).fhirBase(sofaBase)
                .tokens(login.tokenProvider(sofaBase, clinician)).build()) {
          SetContextResult ctx = sofa.setContext(SetContextRequest.builder()
              .appId(app.id()).patient(patient).encounter(visit).needPatientBanner(true).build());

          // 4. Subscribe to what the app writes back (before launching it).
          String secret = UUID.randomUUID().toString();
          NotificationConsumer consumer = NotificationConsumer.builder(subs, (id, event) ->
              System.out.println("write-back: " + event.focus().orElse("?") + " for local "
                  + event.resource().map(res -> ctx.localKeyOf(
                      ((org.hl7.fhir.r4.model.Observation) res).getSubject().getReference()).orElse("?"))
                      .orElse("?"))).fetchFocus(true).build();
          try (RestHookReceiver hook = RestHookReceiver.start("127.0.0.1", 0, "/hook",
              RestHookHandler.builder(consumer).requireHeader("Authorization", "Bearer " + secret).build())) {
            var sub = subs.create(SubscriptionRequest.restHook(hook.url())
                .header("Authorization", "Bearer " + secret).launch(ctx.launchId())
                .payload(PayloadContent.ID_ONLY).build());

            // 5. Launch: open this URL in the clinician's browser.
            URI launch = sofa.launchUrl(app.launchUrl().orElseThrow(), ctx.launchId());
            System.out.println("launch the app at " + app.launchUrl().orElseThrow() + "?iss=...&launch=...");
            System.out.println("the SoFA holds Patient/my-emr-patient-42 as "
                + ctx.sofaId(patient).orElseThrow().reference() + " (" + launch.getHost() + ")");

            // 6. When the chart closes: end the session (the SoFA deletes everything of it).
            subs.delete(sub.getIdPart());
            System.out.println("cleared: " + sofa.clearContextQuietly(ctx.launchId()).summary());
          }
        }
      }
    }
  }
}
