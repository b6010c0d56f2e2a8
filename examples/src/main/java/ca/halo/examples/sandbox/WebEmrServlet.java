package ca.halo.examples.sandbox;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.catalog.AppQuery;
import ca.halo.core.SmartScopes;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.PendingAuthorization;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SetContextRequest;
import ca.halo.sofa.SetContextResult;
import ca.halo.sofa.SofaClient;
import ca.halo.subscription.NotificationConsumer;
import ca.halo.subscription.RestHookHandler;
import ca.halo.subscription.SubscriptionClient;
import ca.halo.subscription.SubscriptionRequest;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Observation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's web EMR (PoC actor): signs the clinician in at the jurisdictional IdP, shows a
 * patient chart and the approved apps, and on Launch sets the context on the SoFA, subscribes to
 * write-backs and opens the app. Write-backs appear on the page as they arrive.
 *
 * <p>What a copy keeps (each has a test in {@code WebEmrHardeningTest}):
 * <ul>
 *   <li>The rest-hook ({@code /emr/hook/{route}}) checks the subscription's own secret in
 *       constant time before it reads a byte of the body, caps the body at
 *       {@value #MAX_HOOK_BODY} bytes, and hands the notification to the session that created
 *       that subscription, and only that one.
 *   <li>A fresh session id at sign-in (against session fixation); cookies HttpOnly, SameSite=Lax,
 *       scoped to {@code /emr}, Secure over https.
 *   <li>Every form carries the session's CSRF token and the Origin header is checked.
 *   <li>Sessions expire when idle and their number is capped; an ended session clears its launch
 *       context and deletes its subscription.
 *   <li>Error pages show a reference to the log, never an exception's message; pages are not
 *       cached, not framed, and run no inline script.
 * </ul>
 *
 * <p>Sandbox only: sessions live in memory (one JVM), there is one patient, and it speaks plain
 * HTTP on loopback.
 */
public final class WebEmrServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(WebEmrServlet.class);
  private static final String COOKIE = "emr_session";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern APP_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  /** The largest rest-hook body read (a notification of the sandbox is a few kilobytes). */
  static final int MAX_HOOK_BODY = 1024 * 1024;
  /** Write-backs kept per session for the page; older ones drop off. */
  static final int MAX_WRITE_BACKS = 100;
  private static final int MAX_WRITE_BACK_CHARS = 300;
  private static final String SCRIPT = "setInterval(async () => {\n"
      + "  const r = await fetch('/emr/write-backs.json', {cache: 'no-store'});\n"
      + "  if (!r.ok) return;\n"
      + "  const a = await r.json();\n"
      + "  const ul = document.getElementById('write-backs');\n"
      + "  const shown = [...ul.children].map(li => li.textContent);\n"
      + "  if (JSON.stringify(shown) === JSON.stringify(a)) return;\n"
      + "  // as text (textContent), never as HTML: apps write it\n"
      + "  ul.replaceChildren(...a.map(t => { const li = document.createElement('li'); li.textContent = t; return li; }));\n"
      + "}, 1000);\n";

  private final transient EmrConfig cfg;
  private final transient HaloHttp http = HaloHttp.defaults();
  private final transient SessionStore<Session> sessions;
  /** Rest-hook route → the session whose subscription posts there. */
  private final transient Map<String, Session> byHookRoute = new ConcurrentHashMap<>();
  private transient SmartAppClient login;

  /** One clinician's browser: a sign-in in progress, or signed in. */
  static final class Session {
    volatile PendingAuthorization pending;
    volatile TokenSet tokens;
    volatile String csrf;
    volatile SofaClient sofa;
    volatile SubscriptionClient subs;
    volatile RestHookHandler hook;
    volatile SetContextResult context;
    volatile String subscription;
    volatile String hookRoute;
    volatile String hookAuthorization;
    final SampleChart chart = new SampleChart();
    /** Guarded by itself. */
    final Deque<String> writeBacks = new ArrayDeque<>();
  }

  /** The subscription channel of a session's current launch (for tests: the SoFA's view of it). */
  record HookChannel(URI endpoint, String authorization, String subscriptionId) {}

  /** Sessions expire after 30 idle minutes; at most 1,000 at a time. */
  public WebEmrServlet(EmrConfig cfg) {
    this(cfg, Clock.systemUTC(), Duration.ofMinutes(30), 1000);
  }

  WebEmrServlet(EmrConfig cfg, Clock clock, Duration idleTimeout, int maxSessions) {
    this.cfg = cfg;
    this.sessions = new SessionStore<>(clock, idleTimeout, maxSessions, s -> s.tokens != null, this::ended);
  }

  private synchronized SmartAppClient login() {
    if (login == null) {
      login = SmartAppClient.builder().http(http)
          .clientAuthentication(cfg.clientSecret() == null
              ? ClientAuthentication.publicClient(cfg.clientId())
              : ClientAuthentication.clientSecretBasic(cfg.clientId(), cfg.clientSecret()))
          .redirectUri(cfg.redirectUri()).build();
      if (cfg.idpIssuer() != null) {
        login.discoverOpenIdProvider(cfg.idpIssuer());
      }
    }
    return login;
  }

  private URI home() {
    return URI.create(cfg.emrBase() + "/emr/");
  }

  // ---------------------------------------------------------------- GET

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
    try {
      switch (path) {
        case "/callback":
          callback(req, resp);
          return;
        case "/write-backs.json":
          writeBacks(req, resp);
          return;
        case "/write-backs.js":
          Html.write(resp, 200, "text/javascript; charset=utf-8", SCRIPT.getBytes(StandardCharsets.UTF_8));
          return;
        case "/":
          Session s = session(req);
          if (s == null || s.tokens == null) {
            startLogin(req, resp);
          } else {
            Html.send(resp, 200, chartPage(s));
          }
          return;
        default:
          Html.sendError(resp, 404, "Not found", "There is no such page.", "/emr/");
      }
    } catch (RuntimeException e) {
      failed(resp, e, 500, "Something failed", "The EMR could not show this page.");
    }
  }

  private void startLogin(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String id = Html.cookie(req, COOKIE);
    Session s = sessions.get(id).orElse(null);
    if (s == null) {
      s = new Session();
      id = sessions.add(s).orElse(null);
      if (id == null) {
        Html.sendError(resp, 503, "EMR busy", "Too many clinicians are signed in. Try again in a few minutes.", null);
        return;
      }
      Html.setCookie(resp, req, cfg.emrBase(), COOKIE, id, "/emr");
    }
    AuthorizationRedirect r = login().beginStandaloneLaunch(cfg.loginIss(), SmartScopes.parse(cfg.scopes()));
    s.pending = r.pending();
    Html.redirect(resp, r.uri());
  }

  /** Back from the IdP: completes the sign-in and moves the session to a fresh id. */
  private void callback(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String oldId = Html.cookie(req, COOKIE);
    Session s = sessions.get(oldId).orElse(null);
    PendingAuthorization pending = s == null ? null : s.pending;
    if (pending == null) {
      Html.redirect(resp, home());
      return;
    }
    s.pending = null; // one use, whatever happens next
    TokenSet tokens;
    try {
      tokens = login().completeAuthorization(pending, Html.fullUrl(req));
    } catch (RuntimeException e) {
      failed(resp, e, 400, "Sign-in failed", "The sign-in did not complete. Start again from the EMR.");
      return;
    }
    String id = sessions.rotate(oldId).orElse(null);
    if (id == null) {
      Html.redirect(resp, home());
      return;
    }
    var provider = login().tokenProvider(cfg.loginIss(), tokens);
    s.sofa = SofaClient.builder().http(http).fhirContext(cfg.fhirContext())
        .fhirBase(cfg.sofaFhirBase()).tokens(provider).build();
    s.subs = SubscriptionClient.builder().http(http).fhirContext(cfg.fhirContext())
        .fhirBase(cfg.sofaFhirBase()).tokens(provider).build();
    NotificationConsumer consumer = NotificationConsumer.builder(s.subs, (sub, e) -> onWriteBack(s, sub, e))
        .fetchFocus(true).build();
    s.hook = RestHookHandler.builder(consumer).fhirContext(cfg.fhirContext()).maxBodyBytes(MAX_HOOK_BODY).build();
    s.csrf = Html.newId();
    s.tokens = tokens;
    Html.setCookie(resp, req, cfg.emrBase(), COOKIE, id, "/emr");
    Html.redirect(resp, home());
  }

  private void writeBacks(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    Session s = session(req);
    ArrayNode list = JSON.createArrayNode();
    if (s != null && s.tokens != null) {
      synchronized (s.writeBacks) {
        s.writeBacks.forEach(list::add);
      }
    }
    Html.write(resp, 200, "application/json; charset=utf-8", JSON.writeValueAsBytes(list));
  }

  private Session session(HttpServletRequest req) {
    return sessions.get(Html.cookie(req, COOKIE)).orElse(null);
  }

  // ---------------------------------------------------------------- POST

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
    if (path.equals("/hook") || path.startsWith("/hook/")) {
      hook(path.substring("/hook".length()), req, resp);
      return;
    }
    Session s = session(req);
    if (s == null || s.tokens == null) {
      Html.redirect(resp, home());
      return;
    }
    if (!Html.isOwnFormPost(req, cfg.emrBase(), s.csrf)) {
      Html.sendError(resp, 403, "Refused", "This form was not sent from the EMR's page. Reload the chart and try again.",
          "/emr/");
      return;
    }
    try {
      switch (path) {
        case "/launch":
          launch(s, req.getParameter("app"), resp);
          return;
        case "/end":
          end(s);
          Html.redirect(resp, home());
          return;
        default:
          Html.sendError(resp, 404, "Not found", "There is no such page.", "/emr/");
      }
    } catch (RuntimeException e) {
      failed(resp, e, 502, "Launch failed", "The launch could not be completed. Try again.");
    }
  }

  /**
   * A rest-hook post. The secret is checked before the body is read, so a stranger's post costs
   * nothing; the body is read only up to the cap.
   */
  private void hook(String route, HttpServletRequest req, HttpServletResponse resp) throws IOException {
    Session s = route.length() > 1 ? byHookRoute.get(route.substring(1)) : null;
    String expected = s == null ? null : s.hookAuthorization;
    RestHookHandler handler = s == null ? null : s.hook;
    if (!Html.constantTimeEquals(req.getHeader("Authorization"), expected) || handler == null) {
      resp.setHeader("WWW-Authenticate", "Bearer");
      resp.setStatus(401);
      return;
    }
    if (req.getContentLengthLong() > MAX_HOOK_BODY) {
      resp.setStatus(413);
      return;
    }
    byte[] body = req.getInputStream().readNBytes(MAX_HOOK_BODY + 1); // bounded, chunked bodies too
    if (body.length > MAX_HOOK_BODY) {
      resp.setStatus(413);
      return;
    }
    Map<String, List<String>> headers = new HashMap<>();
    for (String h : Collections.list(req.getHeaderNames())) {
      headers.put(h, Collections.list(req.getHeaders(h)));
    }
    resp.setStatus(handler.handle(headers, body));
  }

  /** Called by the session's own consumer: only its own subscription's events get through. */
  private void onWriteBack(Session s, String subscriptionId, NotificationEvent e) {
    if (!subscriptionId.equals(s.subscription)) {
      LOG.warn("ignored a notification for Subscription/{} on another session's rest-hook", subscriptionId);
      return;
    }
    if (e.resource().isEmpty() || !(e.resource().get() instanceof Observation)) {
      return;
    }
    Observation o = (Observation) e.resource().get();
    SetContextResult context = s.context;
    String local = context == null ? "?" : context.localKeyOf(o.getSubject().getReference()).orElse("?");
    String value = o.hasValueQuantity() ? o.getValueQuantity().getValue() + " " + o.getValueQuantity().getUnit() : "";
    String text = o.getCode().getCodingFirstRep().getDisplay() + " " + value + " (for " + local
        + ", SoFA " + e.focus().orElse("?") + ", event #" + e.number() + ")";
    synchronized (s.writeBacks) {
      s.writeBacks.addLast(text.length() > MAX_WRITE_BACK_CHARS ? text.substring(0, MAX_WRITE_BACK_CHARS) + "…" : text);
      while (s.writeBacks.size() > MAX_WRITE_BACKS) {
        s.writeBacks.removeFirst();
      }
    }
  }

  private void launch(Session s, String appId, HttpServletResponse resp) throws IOException {
    AppListing app = null;
    if (appId != null && APP_ID.matcher(appId).matches()) {
      try (AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(cfg.catalogBase()).build()) {
        app = catalog.get(appId).orElse(null);
      }
    }
    URI appLaunch = app == null || !app.isActive() ? null : app.launchUrl().orElse(null);
    if (appLaunch == null || !appLaunch.isAbsolute()
        || !("https".equals(appLaunch.getScheme()) || "http".equals(appLaunch.getScheme()))) {
      Html.sendError(resp, 400, "Cannot launch", "This app is not in the App Catalog, or cannot be launched.", "/emr/");
      return;
    }
    URI to;
    synchronized (s) { // one launch at a time per session: a double click must not leave a context behind
      end(s);
      SampleChart c = s.chart;
      SetContextRequest.Builder rb = SetContextRequest.builder().appId(app.id()).patient(c.patient)
          .fhirUser(c.practitioner).addResource(c.height).addResource(c.allergy).addFhirContext(c.condition)
          .needPatientBanner(true).intent("sandbox-launch");
      if (app.needsEncounterContext()) {
        rb.encounter(c.encounter);
      }
      s.context = s.sofa.setContext(rb.build());
      try {
        // a route and a secret for this subscription alone: the SoFA posts there with that header
        s.hookRoute = Html.newId();
        s.hookAuthorization = "Bearer " + Html.newId();
        byHookRoute.put(s.hookRoute, s);
        var sub = s.subs.create(SubscriptionRequest.restHook(URI.create(cfg.emrBase() + "/emr/hook/" + s.hookRoute))
            .header("Authorization", s.hookAuthorization).launch(s.context.launchId())
            .payload(PayloadContent.ID_ONLY).build());
        s.subscription = sub.getIdPart();
        s.subs.awaitActive(sub.getIdPart(), Duration.ofSeconds(10));
        to = s.sofa.launchUrl(appLaunch, s.context.launchId());
      } catch (RuntimeException e) {
        end(s); // nothing half-made stays behind on the SoFA
        throw e;
      }
    }
    Html.redirect(resp, to);
  }

  /** Clears the session's launch context and deletes its subscription, if any. */
  private void end(Session s) {
    synchronized (s) {
      if (s.hookRoute != null) {
        byHookRoute.remove(s.hookRoute);
        s.hookRoute = null;
        s.hookAuthorization = null;
      }
      if (s.subscription != null) {
        String id = s.subscription;
        s.subscription = null;
        try {
          s.subs.delete(id);
        } catch (RuntimeException e) {
          LOG.warn("could not delete Subscription/{} ({}); the SoFA ends it with the context", id,
              e.getClass().getSimpleName());
        }
      }
      if (s.context != null) {
        s.sofa.clearContextQuietly(s.context.launchId());
        s.context = null;
      }
    }
  }

  /** A session that expired or was pushed out: tidy up what it holds on the SoFA. */
  private void ended(Session s) {
    try {
      if (s.tokens != null) {
        end(s);
      }
    } catch (RuntimeException e) {
      LOG.warn("could not tidy up an expired EMR session ({})", e.getClass().getSimpleName());
    }
  }

  private void failed(HttpServletResponse resp, RuntimeException e, int status, String title, String what)
      throws IOException {
    String ref = Html.newReference();
    LOG.warn("EMR: {} (reference {}): {}", title, ref, e.toString());
    LOG.debug("EMR failure {}", ref, e);
    if (!resp.isCommitted()) {
      resp.reset();
      Html.sendError(resp, status, title, what + " Reference: " + ref + ".", "/emr/");
    }
  }

  /** The rest-hook channel of the session with this cookie value (tests read what the SoFA holds). */
  Optional<HookChannel> hookChannel(String sessionId) {
    Session s = sessions.get(sessionId).orElse(null);
    if (s == null || s.hookRoute == null || s.subscription == null) {
      return Optional.empty();
    }
    return Optional.of(new HookChannel(URI.create(cfg.emrBase() + "/emr/hook/" + s.hookRoute),
        s.hookAuthorization, s.subscription));
  }

  int sessionCount() {
    return sessions.size();
  }

  private String chartPage(Session s) {
    SampleChart c = s.chart;
    String csrf = Html.csrfField(s.csrf);
    StringBuilder apps = new StringBuilder();
    try (AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(cfg.catalogBase()).build()) {
      for (AppListing a : catalog.list(AppQuery.builder().launchType("ehr").build()).apps()) {
        apps.append("<div class=\"app\"><strong>").append(Html.esc(a.name())).append("</strong> — ")
            .append(Html.esc(a.description().orElse(""))).append("<form method=\"post\" action=\"/emr/launch\">")
            .append(csrf).append("<input type=\"hidden\" name=\"app\" value=\"").append(Html.esc(a.id())).append("\">")
            .append("<button id=\"launch-").append(Html.esc(a.id())).append("\">Launch</button></form></div>");
      }
    }
    List<String> list;
    synchronized (s.writeBacks) {
      list = new ArrayList<>(s.writeBacks);
    }
    StringBuilder wb = new StringBuilder();
    for (String w : list) {
      wb.append("<li>").append(Html.esc(w)).append("</li>");
    }
    return Html.page("Sandbox EMR", "<h1>Sandbox EMR</h1><p>Signed in as <span id=\"clinician\">"
        + Html.esc(s.tokens.fhirUser().orElse("?")) + "</span> (jurisdictional IdP)</p>"
        + "<h2>Chart: <span id=\"patient-name\">" + Html.esc(c.patientName()) + "</span></h2>"
        + "<table><tr><th>MRN</th><td>" + Html.esc(c.patient.getIdentifierFirstRep().getValue()) + "</td></tr>"
        + "<tr><th>Born</th><td>" + Html.esc(c.patient.getBirthDateElement().getValueAsString()) + "</td></tr>"
        + "<tr><th>Height</th><td>" + Html.esc(c.height.getValueQuantity().getValue()) + " cm</td></tr>"
        + "<tr><th>Problem</th><td>" + Html.esc(c.condition.getCode().getCodingFirstRep().getDisplay()) + "</td></tr>"
        + "<tr><th>Allergy</th><td>" + Html.esc(c.allergy.getCode().getCodingFirstRep().getDisplay()) + "</td></tr></table>"
        + "<h2>Approved apps (App Catalog)</h2>" + apps
        + "<h2>Write-backs received (subscription)</h2><ul id=\"write-backs\">" + wb + "</ul>"
        + (s.context != null ? "<form method=\"post\" action=\"/emr/end\">" + csrf + "<button id=\"end-session\">"
            + "End session ($clear-context)</button></form>" : "")
        + "<script src=\"/emr/write-backs.js\"></script>");
  }

  @Override
  public void destroy() {
    if (login != null) {
      login.close();
    }
    http.close();
  }
}
