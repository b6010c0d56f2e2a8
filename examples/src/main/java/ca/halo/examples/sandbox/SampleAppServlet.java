package ca.halo.examples.sandbox;

import ca.halo.core.FhirContextItem;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.server.catalog.AppCatalogRepository;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.PendingAuthorization;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;

/**
 * The sample SMART apps of the sandbox, at {@code /apps/{appId}/}: a real EHR launch (launch URL,
 * discovery, authorize with PKCE, callback, token), then a page with the patient banner, the
 * launch context, the patient's observations, and a form that writes a body weight back.
 *
 * <p>It uses only {@code halo-sof-client}: the same code works against the SoFA or an EMR's own
 * SMART server. Sandbox only: sessions live in memory.
 */
public final class SampleAppServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  private final transient java.util.function.Supplier<AppCatalogRepository> catalogs;
  private final transient FhirContext ctx;
  private final transient URI base;
  private final transient HaloHttp http = HaloHttp.defaults();
  private final transient Map<String, SmartAppClient> clients = new ConcurrentHashMap<>();
  private final transient Map<String, AppSession> sessions = new ConcurrentHashMap<>();

  static final class AppSession {
    volatile URI iss;
    volatile PendingAuthorization pending;
    volatile TokenSet tokens;
    volatile IGenericClient fhir;
  }

  /** @param catalog supplies the App Catalog (read at request time: it is filled after start) */
  public SampleAppServlet(java.util.function.Supplier<AppCatalogRepository> catalog, FhirContext ctx, URI base) {
    this.catalogs = catalog;
    this.ctx = ctx;
    this.base = base;
  }

  private SmartAppClient client(AppListing app) {
    return clients.computeIfAbsent(app.id(), id -> SmartAppClient.builder().http(http)
        .clientAuthentication(ClientAuthentication.publicClient(app.clientId().orElseThrow()))
        .redirectUri(URI.create(base + "/apps/" + id + "/callback")).build());
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String[] p = (req.getPathInfo() == null ? "/" : req.getPathInfo()).split("/");
    if (p.length < 2) {
      resp.sendError(404);
      return;
    }
    AppListing app = catalogs.get().find(p[1]).orElse(null);
    if (app == null || !app.isActive()) {
      resp.sendError(404);
      return;
    }
    String action = p.length > 2 ? p[2] : "";
    String cookieName = "app_" + app.id().replace('-', '_');
    try {
      switch (action) {
        case "launch": {
          String iss = req.getParameter("iss");
          String launch = req.getParameter("launch");
          if (iss == null || launch == null) {
            Html.send(resp, 400, Html.page(app.name(), "<p id=\"error\">Launch me from the EMR: I need iss and launch.</p>"));
            return;
          }
          AppSession s = new AppSession();
          s.iss = URI.create(iss);
          AuthorizationRedirect r = client(app).beginEhrLaunch(s.iss, launch, app.scopes());
          s.pending = r.pending();
          sessions.put(Html.newSession(resp, cookieName, "/apps/" + app.id()), s);
          Html.redirect(resp, r.uri());
          return;
        }
        case "callback": {
          AppSession s = sessions.get(String.valueOf(Html.cookie(req, cookieName)));
          if (s == null || s.pending == null) {
            Html.send(resp, 400, Html.page(app.name(), "<p id=\"error\">No launch in progress.</p>"));
            return;
          }
          s.tokens = client(app).completeAuthorization(s.pending, Html.fullUrl(req));
          s.pending = null;
          s.fhir = FhirClients.genericClient(ctx, s.iss, http, client(app).tokenProvider(s.iss, s.tokens));
          Html.redirect(resp, URI.create(base + "/apps/" + app.id() + "/"));
          return;
        }
        default: {
          AppSession s = sessions.get(String.valueOf(Html.cookie(req, cookieName)));
          if (s == null || s.tokens == null) {
            Html.send(resp, 200, Html.page(app.name(), "<h1>" + Html.esc(app.name())
                + "</h1><p id=\"not-launched\">Not launched: open me from the EMR.</p>"));
            return;
          }
          Html.send(resp, 200, appPage(app, s, req.getParameter("saved")));
        }
      }
    } catch (RuntimeException e) {
      Html.send(resp, 500, Html.page(app.name(), "<h1>Launch failed</h1><p id=\"error\">"
          + Html.esc(e.getMessage()) + "</p>"));
    }
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String[] p = (req.getPathInfo() == null ? "/" : req.getPathInfo()).split("/");
    AppListing app = p.length > 2 ? catalogs.get().find(p[1]).orElse(null) : null;
    if (app == null || !p[2].equals("weight")) {
      resp.sendError(404);
      return;
    }
    AppSession s = sessions.get(String.valueOf(Html.cookie(req, "app_" + app.id().replace('-', '_'))));
    if (s == null || s.tokens == null) {
      resp.sendError(401);
      return;
    }
    try {
      BigDecimal kg = new BigDecimal(req.getParameter("weight"));
      Observation o = new Observation();
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
      o.setSubject(new Reference("Patient/" + s.tokens.launchContext().patient().orElseThrow()));
      s.tokens.launchContext().encounter().ifPresent(e -> o.setEncounter(new Reference("Encounter/" + e)));
      o.setValue(new Quantity().setValue(kg).setUnit("kg").setSystem("http://unitsofmeasure.org").setCode("kg"));
      String id = s.fhir.create().resource(o).execute().getId().getIdPart();
      Html.redirect(resp, URI.create(base + "/apps/" + app.id() + "/?saved=Observation/" + id));
    } catch (RuntimeException e) {
      Html.send(resp, 400, Html.page(app.name(), "<p id=\"error\">" + Html.esc(e.getMessage()) + "</p>"));
    }
  }

  private String appPage(AppListing app, AppSession s, String saved) {
    TokenSet t = s.tokens;
    String pid = t.launchContext().patient().orElseThrow();
    Patient patient = s.fhir.read().resource(Patient.class).withId(pid).execute();
    Bundle obs = s.fhir.search().forResource(Observation.class).where(Observation.PATIENT.hasId(pid))
        .returnBundle(Bundle.class).execute();
    StringBuilder rows = new StringBuilder();
    for (Bundle.BundleEntryComponent e : obs.getEntry()) {
      Observation o = (Observation) e.getResource();
      rows.append("<tr><td>").append(Html.esc(o.getCode().getCodingFirstRep().getDisplay())).append("</td><td>")
          .append(o.hasValueQuantity() ? Html.esc(o.getValueQuantity().getValue() + " " + o.getValueQuantity().getUnit()) : "")
          .append("</td></tr>");
    }
    StringBuilder fc = new StringBuilder();
    for (FhirContextItem i : t.launchContext().fhirContext()) {
      fc.append(Html.esc(i.reference().orElse(i.canonical().orElse("identifier")))).append(' ');
    }
    String banner = t.launchContext().needPatientBanner().orElse(true)
        ? "<div class=\"banner\" id=\"patient-banner\">" + Html.esc(patient.getNameFirstRep().getNameAsSingleString())
            + " · " + Html.esc(patient.getGender() == null ? "" : patient.getGender().toCode()) + " · born "
            + Html.esc(patient.getBirthDateElement().getValueAsString()) + "</div>" : "";
    return Html.page(app.name(), banner + "<h1>" + Html.esc(app.name()) + "</h1>"
        + "<dl id=\"context\"><dt>FHIR server (iss)</dt><dd id=\"iss\">" + Html.esc(s.iss) + "</dd>"
        + "<dt>Patient</dt><dd id=\"ctx-patient\">" + Html.esc(pid) + "</dd>"
        + "<dt>Encounter</dt><dd id=\"ctx-encounter\">" + Html.esc(t.launchContext().encounter().orElse("-")) + "</dd>"
        + "<dt>fhirContext</dt><dd id=\"ctx-fhircontext\">" + fc + "</dd>"
        + "<dt>User</dt><dd id=\"ctx-user\">" + Html.esc(t.fhirUser().orElse("-")) + "</dd>"
        + "<dt>Scopes granted</dt><dd>" + Html.esc(t.scopes()) + "</dd></dl>"
        + "<h2>Observations</h2><table id=\"observations\"><tr><th>Code</th><th>Value</th></tr>" + rows + "</table>"
        + (app.scopes().contains("patient/Observation.c")
            ? "<h2>Record body weight</h2><form method=\"post\" action=\"/apps/" + Html.esc(app.id()) + "/weight\">"
                + "<input id=\"weight\" name=\"weight\" value=\"18.2\"> kg <button id=\"record-weight\">Save</button></form>"
            : "")
        + (saved != null ? "<p id=\"saved\">Saved " + Html.esc(saved) + "</p>" : "")
        + "<p><a id=\"back-to-emr\" href=\"/emr/\">Back to the EMR</a></p>");
  }

  @Override
  public void destroy() {
    clients.values().forEach(SmartAppClient::close);
    http.close();
  }
}
