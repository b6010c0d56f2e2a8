package ca.halo.examples.sandbox;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.core.LaunchInitiator;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScopes;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.SofaServer;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenIntrospection;
import ca.halo.sof.TokenSet;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.io.PrintStream;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;

/**
 * The SoF flow of HALO: the EMR runs its own FHIR server and authorization server (built from
 * the same server SPI), and the same app launches against it unchanged.
 */
public final class SofFlow {
  static final String LOB_CLIENT = "lob-service";
  static final String LOB_SECRET = "lob-service-secret-0000";

  private SofFlow() {}

  public static Steps run(Jurisdiction j, PrintStream out) {
    Steps s = new Steps(out, "SoF", 6);
    Map<String, Object> st = new HashMap<>();
    AppListing listing = j.catalog.find("growth-chart").orElseThrow();
    InMemoryClientRegistry clients = new InMemoryClientRegistry()
        .register(RegisteredClient.builder("growth-chart").name(listing.name()).appId(listing.id())
            .redirectUri(listing.redirectUris().get(0)).allowedScopes(listing.scopes()).build())
        .register(RegisteredClient.builder(LOB_CLIENT).type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC)
            .secret(LOB_SECRET).allowedScopes(SmartScopes.parse("system/*.rs")).build());
    FormUserAuthenticator users = new FormUserAuthenticator().addUser(Jurisdiction.CLINICIAN,
        Jurisdiction.CLINICIAN_PASSWORD, new AuthenticatedUser(Jurisdiction.CLINICIAN,
            Jurisdiction.CLINICIAN_FHIR_USER, "Dr. Sandbox Clinician"));
    try (SofaServer emr = SofaServer.builder().host(j.sofa.baseUrl().getHost()).clients(clients)
            .users(users).subscriptions(false).build().start();
        HaloHttp http = HaloHttp.defaults();
        AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(j.sofa.catalogBase()).build();
        SmartAppClient app = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.publicClient("growth-chart"))
            .redirectUri(listing.redirectUris().get(0)).build();
        SmartAppClient lob = SmartAppClient.builder().http(http)
            .clientAuthentication(ClientAuthentication.clientSecretBasic(LOB_CLIENT, LOB_SECRET)).build()) {
      // the EMR's chart lives in its own FHIR server
      SampleChart chart = new SampleChart();
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      for (var r : new org.hl7.fhir.r4.model.Resource[] {chart.patient, chart.encounter, chart.height}) {
        tx.addEntry().setResource(r.copy()).getRequest().setMethod(Bundle.HTTPVerb.PUT)
            .setUrl(r.fhirType() + "/" + r.getIdElement().getIdPart());
      }
      emr.repository().transaction(tx);
      HeadlessBrowser browser = new HeadlessBrowser();

      s.step("App Catalog query (CA:AC-1)", () -> {
        AppListing a = catalog.get("growth-chart").orElseThrow();
        st.put("app", a);
        return "'" + a.name() + "', launch URL " + a.launchUrl().orElseThrow();
      });

      s.step("EMR launches the app (iss = EMR FHIR base) (CA:SoF-1)", () -> {
        // the EMR's own launch initiator records the context in its own authorization server
        Parameters in = new Parameters();
        in.addParameter().setName("appID").setValue(new StringType("growth-chart"));
        in.addParameter().setName("patient").setValue(new Reference("Patient/" + chart.patient.getIdPart()));
        in.addParameter().setName("encounter").setValue(new Reference("Encounter/" + chart.encounter.getIdPart()));
        Principal self = Principal.builder("emr-launch-initiator").subject(Jurisdiction.CLINICIAN)
            .scopes(SmartScopes.parse("system/Context.write")).build();
        String launch = ((StringType) emr.contextManager().setContext(in, self)
            .getParameter("launchID").getValue()).getValue();
        URI url = LaunchInitiator.launchUrl(((AppListing) st.get("app")).launchUrl().orElseThrow(),
            emr.fhirBase(), launch);
        Map<String, String> q = SofaFlow.query(url);
        st.put("iss", URI.create(q.get("iss")));
        st.put("launch", q.get("launch"));
        return "iss=" + q.get("iss");
      });

      s.step("App discovers the EMR (.well-known/smart-configuration) (CA:SoF-2)", () -> {
        SmartConfiguration c = app.discover((URI) st.get("iss"));
        return "authorize at " + c.authorizationEndpoint().orElseThrow();
      });

      s.step("App authorizes at the EMR's IdP (code + PKCE) (CA:SoF-3)", () -> {
        AuthorizationRedirect r = app.beginEhrLaunch((URI) st.get("iss"), (String) st.get("launch"),
            ((AppListing) st.get("app")).scopes());
        TokenSet t = app.completeAuthorization(r.pending(),
            browser.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD));
        Steps.check(t.launchContext().patient().orElse("").equals(chart.patient.getIdPart()),
            "the token response must name the EMR's patient id");
        st.put("tokens", t);
        return "patient " + t.launchContext().patient().orElseThrow() + ", encounter "
            + t.launchContext().encounter().orElse("-");
      });

      s.step("App reads FHIR resources from the EMR", () -> {
        TokenSet t = (TokenSet) st.get("tokens");
        IGenericClient fhir = FhirClients.genericClient(emr.fhirContext(), (URI) st.get("iss"), http,
            app.tokenProvider((URI) st.get("iss"), t));
        Patient p = fhir.read().resource(Patient.class).withId(t.launchContext().patient().orElseThrow()).execute();
        Bundle obs = fhir.search().forResource(Observation.class)
            .where(Observation.PATIENT.hasId(p.getIdElement().getIdPart())).returnBundle(Bundle.class).execute();
        Steps.check(obs.getEntry().size() == 1, "expected the EMR's one observation");
        return p.getNameFirstRep().getNameAsSingleString() + ", " + obs.getEntry().size() + " observation(s)";
      });

      s.step("Line-of-business service checks the app's token (RFC 7662)", () -> {
        TokenSet t = (TokenSet) st.get("tokens");
        TokenIntrospection i = lob.introspect((URI) st.get("iss"), t.accessToken().value());
        Steps.check(i.active() && i.clientId().orElse("").equals("growth-chart"), "token must be active");
        return "active for client " + i.clientId().orElseThrow() + ", scopes " + i.scopes();
      });
    }
    return s;
  }
}
