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
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sample SMART apps of the sandbox, at {@code /apps/{appId}/}: a real EHR launch (launch URL,
 * discovery, authorize with PKCE, callback, token), then a page with the patient banner, the
 * launch context, the patient's observations, and a form that writes a body weight back.
 *
 * <p>It uses only {@code halo-sof-client}: the same code works against the SoFA or an EMR's own
 * SMART server. What a copy keeps (each has a test in {@code SampleAppHardeningTest}):
 * <ul>
 *   <li>{@code launch?iss=} is accepted only for a FHIR server on the app's allow-list; any other
 *       iss gets a 400 page, and the app neither fetches it nor redirects anywhere. The authorize
 *       endpoint comes from the trusted server's own discovery.
 *   <li>A fresh session id once the authorization completes; cookies HttpOnly, SameSite=Lax,
 *       scoped to the app's path, Secure over https.
 *   <li>The write-back form carries a CSRF token and the Origin header is checked.
 *   <li>Sessions expire when idle and their number is capped; error pages show a reference to the
 *       log, never an exception's message.
 * </ul>
 *
 * <p>Sandbox only: sessions live in memory.
 */
public final class SampleAppServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(SampleAppServlet.class);
  private static final Pattern SAVED = Pattern.compile("Observation/[A-Za-z0-9.-]{1,64}");
  private static final int MAX_LAUNCH_CHARS = 512;
  private static final BigDecimal MAX_KG = new BigDecimal("700");

  private final transient Supplier<AppCatalogRepository> catalogs;
  private final transient FhirContext ctx;
  private final transient URI base;
  private final transient Set<String> trustedIss;
  private final transient HaloHttp http = HaloHttp.defaults();
  private final transient Map<String, SmartAppClient> clients = new ConcurrentHashMap<>();
  private final transient SessionStore<AppSession> sessions;

  static final class AppSession {
    volatile URI iss;
    volatile PendingAuthorization pending;
    volatile TokenSet tokens;
    volatile String csrf;
    volatile IGenericClient fhir;
  }

  /**
   * Sessions expire after 30 idle minutes; at most 1,000 at a time.
   *
   * @param catalog supplies the App Catalog (read at request time: it is filled after start)
   * @param base the apps' own public base URL (redirect URIs hang off it)
   * @param trustedIss the FHIR bases the apps may be launched from (exact match, a trailing slash
   *     aside); a launch naming any other iss is refused without contacting it
   */
  public SampleAppServlet(Supplier<AppCatalogRepository> catalog, FhirContext ctx, URI base, Set<URI> trustedIss) {
    this(catalog, ctx, base, trustedIss, Clock.systemUTC(), Duration.ofMinutes(30), 1000);
  }

  SampleAppServlet(Supplier<AppCatalogRepository> catalog, FhirContext ctx, URI base, Set<URI> trustedIss,
      Clock clock, Duration idleTimeout, int maxSessions) {
    this.catalogs = catalog;
    this.ctx = ctx;
    this.base = base;
    Set<String> t = new LinkedHashSet<>();
    for (URI u : trustedIss) {
      if (!u.isAbsolute() || !("https".equals(u.getScheme()) || "http".equals(u.getScheme()))
          || u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null) {
        throw new IllegalArgumentException("a trusted iss is an absolute http(s) FHIR base without user"
            + " info, query or fragment: " + u);
      }
      t.add(stripSlash(u.toString()));
    }
    if (t.isEmpty()) {
      throw new IllegalArgumentException("name at least one trusted iss (the FHIR server that launches the apps)");
    }
    this.trustedIss = Set.copyOf(t);
    this.sessions = new SessionStore<>(clock, idleTimeout, maxSessions, s -> s.tokens != null, s -> { });
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  /** The iss of a launch if it is on the allow-list; compared as text, so no alias slips through. */
  private URI trusted(String iss) {
    String s = stripSlash(iss);
    return trustedIss.contains(s) ? URI.create(s) : null;
  }

  private SmartAppClient client(AppListing app) {
    return clients.computeIfAbsent(app.id(), id -> SmartAppClient.builder().http(http)
        .clientAuthentication(ClientAuthentication.publicClient(app.clientId().orElseThrow()))
        .redirectUri(URI.create(base + "/apps/" + id + "/callback")).build());
  }

  private AppListing app(String[] p) {
    AppListing app = p.length < 2 ? null : catalogs.get().find(p[1]).orElse(null);
    return app != null && app.isActive() ? app : null;
  }

  private static String cookieName(AppListing app) {
    return "app_" + app.id().replace('-', '_');
  }

  private String cookiePath(AppListing app) {
    return "/apps/" + app.id();
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String[] p = (req.getPathInfo() == null ? "/" : req.getPathInfo()).split("/");
    AppListing app = app(p);
    if (app == null || p.length > 3) {
      Html.sendError(resp, 404, "Not found", "There is no such app.", null);
      return;
    }
    String action = p.length > 2 ? p[2] : "";
    try {
      switch (action) {
        case "launch":
          launch(app, req, resp);
          return;
        case "callback":
          callback(app, req, resp);
          return;
        case "": {
          AppSession s = sessions.get(Html.cookie(req, cookieName(app))).orElse(null);
          if (s == null || s.tokens == null) {
            Html.send(resp, 200, Html.page(app.name(), "<h1>" + Html.esc(app.name())
                + "</h1><p id=\"not-launched\">Not launched: open me from the EMR.</p>"));
            return;
          }
          String saved = req.getParameter("saved");
          Html.send(resp, 200, appPage(app, s, saved != null && SAVED.matcher(saved).matches() ? saved : null));
          return;
        }
        default:
          Html.sendError(resp, 404, "Not found", "There is no such page.", null);
      }
    } catch (RuntimeException e) {
      failed(app, resp, e, 502, "The app could not reach its FHIR server. Launch it again from the EMR.");
    }
  }

  private void launch(AppListing app, HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String issParam = req.getParameter("iss");
    String launch = req.getParameter("launch");
    if (issParam == null || launch == null || launch.isBlank() || launch.length() > MAX_LAUNCH_CHARS) {
      Html.sendError(resp, 400, app.name(), "Launch me from the EMR: I need iss and launch.", null);
      return;
    }
    URI iss = trusted(issParam);
    if (iss == null) {
      // not fetched, not redirected to, not echoed: an attacker's iss gets nothing from us
      Html.sendError(resp, 400, app.name(), "This launch names a FHIR server the app does not trust."
          + " Launch the app from your EMR.", null);
      return;
    }
    sessions.remove(Html.cookie(req, cookieName(app))); // a new launch replaces this browser's last one
    AppSession s = new AppSession();
    s.iss = iss;
    // discovery of the trusted iss gives the authorize endpoint (and the token endpoint)
    AuthorizationRedirect r = client(app).beginEhrLaunch(iss, launch, app.scopes());
    s.pending = r.pending();
    String id = sessions.add(s).orElse(null);
    if (id == null) {
      Html.sendError(resp, 503, app.name(), "Too many launches at once. Try again in a few minutes.", null);
      return;
    }
    Html.setCookie(resp, req, base, cookieName(app), id, cookiePath(app));
    Html.redirect(resp, r.uri());
  }

  /** Back from the authorization server: completes it and moves the session to a fresh id. */
  private void callback(AppListing app, HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String oldId = Html.cookie(req, cookieName(app));
    AppSession s = sessions.get(oldId).orElse(null);
    PendingAuthorization pending = s == null ? null : s.pending;
    if (pending == null) {
      Html.sendError(resp, 400, app.name(), "No launch in progress. Launch the app from the EMR.", null);
      return;
    }
    s.pending = null; // one use, whatever happens next
    TokenSet tokens;
    try {
      tokens = client(app).completeAuthorization(pending, Html.fullUrl(req));
    } catch (RuntimeException e) {
      sessions.remove(oldId);
      failed(app, resp, e, 400, "The authorization did not complete. Launch the app again from the EMR.");
      return;
    }
    String id = sessions.rotate(oldId).orElse(null);
    if (id == null) {
      Html.sendError(resp, 400, app.name(), "The launch expired. Launch the app again from the EMR.", null);
      return;
    }
    s.fhir = FhirClients.genericClient(ctx, s.iss, http, client(app).tokenProvider(s.iss, tokens));
    s.csrf = Html.newId();
    s.tokens = tokens;
    Html.setCookie(resp, req, base, cookieName(app), id, cookiePath(app));
    Html.redirect(resp, URI.create(base + "/apps/" + app.id() + "/"));
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String[] p = (req.getPathInfo() == null ? "/" : req.getPathInfo()).split("/");
    AppListing app = app(p);
    if (app == null || p.length != 3 || !p[2].equals("weight")) {
      Html.sendError(resp, 404, "Not found", "There is no such page.", null);
      return;
    }
    AppSession s = sessions.get(Html.cookie(req, cookieName(app))).orElse(null);
    if (s == null || s.tokens == null) {
      Html.sendError(resp, 401, app.name(), "Not launched: open me from the EMR.", null);
      return;
    }
    if (!Html.isOwnFormPost(req, base, s.csrf)) {
      Html.sendError(resp, 403, app.name(), "This form was not sent from the app's page. Reload it and try again.",
          "/apps/" + app.id() + "/");
      return;
    }
    BigDecimal kg;
    try {
      kg = new BigDecimal(String.valueOf(req.getParameter("weight")).trim());
    } catch (NumberFormatException e) {
      kg = null;
    }
    if (kg == null || kg.signum() <= 0 || kg.compareTo(MAX_KG) > 0 || kg.scale() > 3) {
      Html.sendError(resp, 400, app.name(), "Enter the body weight in kg, a number such as 18.2.",
          "/apps/" + app.id() + "/");
      return;
    }
    try {
      Observation o = new Observation();
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
      o.setSubject(new Reference("Patient/" + s.tokens.launchContext().patient().orElseThrow()));
      s.tokens.launchContext().encounter().ifPresent(e -> o.setEncounter(new Reference("Encounter/" + e)));
      o.setValue(new Quantity().setValue(kg).setUnit("kg").setSystem("http://unitsofmeasure.org").setCode("kg"));
      String id = s.fhir.create().resource(o).execute().getId().getIdPart();
      Html.redirect(resp, URI.create(base + "/apps/" + app.id() + "/?saved=Observation/" + id));
    } catch (RuntimeException e) {
      failed(app, resp, e, 502, "The weight was not saved: the FHIR server refused it or could not be reached.");
    }
  }

  private void failed(AppListing app, HttpServletResponse resp, RuntimeException e, int status, String what)
      throws IOException {
    String ref = Html.newReference();
    LOG.warn("sample app {}: request failed (reference {}): {}", app.id(), ref, e.toString());
    LOG.debug("sample app failure {}", ref, e);
    if (!resp.isCommitted()) {
      resp.reset();
      Html.sendError(resp, status, app.name(), what + " Reference: " + ref + ".", null);
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
                + Html.csrfField(s.csrf) + "<input id=\"weight\" name=\"weight\" value=\"18.2\"> kg <button id=\"record-weight\">Save</button></form>"
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
