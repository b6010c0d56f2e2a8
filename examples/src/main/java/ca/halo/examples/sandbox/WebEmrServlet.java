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
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.r4.model.Observation;

/**
 * The sandbox's web EMR (PoC actor): signs the clinician in at the jurisdictional IdP, shows a
 * patient chart and the approved apps, and on Launch sets the context on the SoFA, subscribes to
 * write-backs and opens the app. Write-backs appear on the page as they arrive.
 *
 * <p>Sandbox only: sessions live in memory, there is one patient, and it speaks plain HTTP.
 */
public final class WebEmrServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final String COOKIE = "emr_session";

  private final transient EmrConfig cfg;
  private final transient HaloHttp http = HaloHttp.defaults();
  private final transient Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final transient Map<String, Session> bySubscription = new ConcurrentHashMap<>();
  private final transient String hookSecret = UUID.randomUUID().toString();
  private transient SmartAppClient login;
  private transient RestHookHandler hook;

  /** One signed-in clinician. */
  static final class Session {
    volatile PendingAuthorization pending;
    volatile TokenSet tokens;
    volatile SofaClient sofa;
    volatile SubscriptionClient subs;
    volatile SetContextResult context;
    volatile String subscription;
    final SampleChart chart = new SampleChart();
    final List<String> writeBacks = Collections.synchronizedList(new ArrayList<>());
  }

  public WebEmrServlet(EmrConfig cfg) {
    this.cfg = cfg;
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

  private synchronized RestHookHandler hook(SubscriptionClient anyClient) {
    if (hook == null) {
      NotificationConsumer consumer = NotificationConsumer.builder(anyClient, this::onWriteBack)
          .fetchFocus(true).build();
      hook = RestHookHandler.builder(consumer).fhirContext(cfg.fhirContext())
          .requireHeader("Authorization", "Bearer " + hookSecret).build();
    }
    return hook;
  }

  private void onWriteBack(String subscriptionId, NotificationEvent e) {
    Session s = bySubscription.get(subscriptionId);
    if (s == null || e.resource().isEmpty() || !(e.resource().get() instanceof Observation)) {
      return;
    }
    Observation o = (Observation) e.resource().get();
    String local = s.context == null ? "?" : s.context.localKeyOf(o.getSubject().getReference()).orElse("?");
    String value = o.hasValueQuantity() ? o.getValueQuantity().getValue() + " " + o.getValueQuantity().getUnit() : "";
    s.writeBacks.add(o.getCode().getCodingFirstRep().getDisplay() + " " + value + " (for " + local
        + ", SoFA " + e.focus().orElse("?") + ", event #" + e.number() + ")");
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
    Session s = session(req);
    try {
      switch (path) {
        case "/callback":
          if (s == null || s.pending == null) {
            Html.redirect(resp, URI.create(cfg.emrBase() + "/emr/"));
            return;
          }
          s.tokens = login().completeAuthorization(s.pending, Html.fullUrl(req));
          s.pending = null;
          var tokens = login().tokenProvider(cfg.loginIss(), s.tokens);
          s.sofa = SofaClient.builder().http(http).fhirContext(cfg.fhirContext())
              .fhirBase(cfg.sofaFhirBase()).tokens(tokens).build();
          s.subs = SubscriptionClient.builder().http(http).fhirContext(cfg.fhirContext())
              .fhirBase(cfg.sofaFhirBase()).tokens(tokens).build();
          Html.redirect(resp, URI.create(cfg.emrBase() + "/emr/"));
          return;
        case "/write-backs.json":
          resp.setContentType("application/json");
          StringBuilder b = new StringBuilder("[");
          if (s != null) {
            synchronized (s.writeBacks) {
              for (String w : s.writeBacks) {
                b.append(b.length() > 1 ? "," : "").append('"').append(w.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
              }
            }
          }
          resp.getWriter().write(b.append("]").toString());
          return;
        default:
          if (s == null || s.tokens == null) {
            startLogin(req, resp);
            return;
          }
          Html.send(resp, 200, chartPage(s));
      }
    } catch (RuntimeException e) {
      Html.send(resp, 500, Html.page("EMR error", "<h1>Something failed</h1><p id=\"error\">"
          + Html.esc(e.getMessage()) + "</p><p><a href=\"/emr/\">Back</a></p>"));
    }
  }

  private void startLogin(HttpServletRequest req, HttpServletResponse resp) {
    String id = Html.cookie(req, COOKIE);
    Session s = id == null ? null : sessions.get(id);
    if (s == null) {
      id = Html.newSession(resp, COOKIE, "/emr");
      s = new Session();
      sessions.put(id, s);
    }
    AuthorizationRedirect r = login().beginStandaloneLaunch(cfg.loginIss(),
        SmartScopes.parse(cfg.scopes()));
    s.pending = r.pending();
    Html.redirect(resp, r.uri());
  }

  private Session session(HttpServletRequest req) {
    String id = Html.cookie(req, COOKIE);
    return id == null ? null : sessions.get(id);
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
    if (path.equals("/hook")) {
      Map<String, List<String>> headers = new HashMap<>();
      for (String h : Collections.list(req.getHeaderNames())) {
        headers.put(h, Collections.list(req.getHeaders(h)));
      }
      byte[] body = req.getInputStream().readAllBytes();
      Session any = bySubscription.values().stream().findFirst().orElse(null);
      if (any == null) {
        resp.setStatus(200); // a handshake before the first subscription is known
        return;
      }
      resp.setStatus(hook(any.subs).handle(headers, body));
      return;
    }
    Session s = session(req);
    if (s == null || s.tokens == null) {
      Html.redirect(resp, URI.create(cfg.emrBase() + "/emr/"));
      return;
    }
    try {
      if (path.equals("/launch")) {
        launch(s, req.getParameter("app"), resp);
      } else if (path.equals("/end")) {
        if (s.context != null) {
          s.sofa.clearContextQuietly(s.context.launchId());
          s.context = null;
        }
        if (s.subscription != null) {
          s.subs.delete(s.subscription);
          bySubscription.remove(s.subscription);
          s.subscription = null;
        }
        Html.redirect(resp, URI.create(cfg.emrBase() + "/emr/"));
      } else {
        resp.sendError(404);
      }
    } catch (RuntimeException e) {
      Html.send(resp, 500, Html.page("EMR error", "<h1>Launch failed</h1><p id=\"error\">"
          + Html.esc(e.getMessage()) + "</p><p><a href=\"/emr/\">Back</a></p>"));
    }
  }

  private void launch(Session s, String appId, HttpServletResponse resp) {
    AppListing app;
    try (AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(cfg.catalogBase()).build()) {
      app = catalog.get(appId).orElseThrow(() -> new IllegalArgumentException("unknown app " + appId));
    }
    if (s.context != null) {
      s.sofa.clearContextQuietly(s.context.launchId());
    }
    SampleChart c = s.chart;
    SetContextRequest.Builder rb = SetContextRequest.builder().appId(app.id()).patient(c.patient)
        .fhirUser(c.practitioner).addResource(c.height).addResource(c.allergy).addFhirContext(c.condition)
        .needPatientBanner(true).intent("sandbox-launch");
    if (app.needsEncounterContext()) {
      rb.encounter(c.encounter);
    }
    s.context = s.sofa.setContext(rb.build());
    hook(s.subs);
    if (s.subscription != null) {
      s.subs.delete(s.subscription);
      bySubscription.remove(s.subscription);
    }
    var sub = s.subs.create(SubscriptionRequest.restHook(URI.create(cfg.emrBase() + "/emr/hook"))
        .header("Authorization", "Bearer " + hookSecret).launch(s.context.launchId())
        .payload(PayloadContent.ID_ONLY).build());
    s.subscription = sub.getIdPart();
    bySubscription.put(sub.getIdPart(), s);
    s.subs.awaitActive(sub.getIdPart(), Duration.ofSeconds(10));
    Html.redirect(resp, s.sofa.launchUrl(app.launchUrl().orElseThrow(), s.context.launchId()));
  }

  private String chartPage(Session s) {
    SampleChart c = s.chart;
    StringBuilder apps = new StringBuilder();
    try (AppCatalogClient catalog = AppCatalogClient.builder().http(http).baseUrl(cfg.catalogBase()).build()) {
      for (AppListing a : catalog.list(AppQuery.builder().launchType("ehr").build()).apps()) {
        apps.append("<div class=\"app\"><strong>").append(Html.esc(a.name())).append("</strong> — ")
            .append(Html.esc(a.description().orElse(""))).append("<form method=\"post\" action=\"/emr/launch\">")
            .append("<input type=\"hidden\" name=\"app\" value=\"").append(Html.esc(a.id())).append("\">")
            .append("<button id=\"launch-").append(Html.esc(a.id())).append("\">Launch</button></form></div>");
      }
    }
    StringBuilder wb = new StringBuilder();
    synchronized (s.writeBacks) {
      for (String w : s.writeBacks) {
        wb.append("<li>").append(Html.esc(w)).append("</li>");
      }
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
        + (s.context != null ? "<form method=\"post\" action=\"/emr/end\"><button id=\"end-session\">"
            + "End session ($clear-context)</button></form>" : "")
        + "<script>setInterval(async()=>{const r=await fetch('/emr/write-backs.json');const a=await r.json();"
        + "const ul=document.getElementById('write-backs');if(ul.children.length!==a.length){ul.innerHTML='';"
        + "for(const t of a){const li=document.createElement('li');li.textContent=t;ul.appendChild(li);}}},1000);</script>");
  }

  @Override
  public void destroy() {
    if (login != null) {
      login.close();
    }
    http.close();
  }
}
