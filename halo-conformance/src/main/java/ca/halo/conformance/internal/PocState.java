package ca.halo.conformance.internal;

import ca.halo.server.sofa.SofaServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What the kit's SoFA saw of the EMR in the {@code poc} target, and the kit's own app: its launch
 * endpoint records {@code iss} and {@code launch}, then (as the app) signs in, reads its context
 * and writes back two Observations, the first one's notification held back by the relay.
 */
public final class PocState implements AutoCloseable {
  /** One launch of the kit's app. */
  public static final class Launch {
    public final Instant at = Instant.now();
    public final String iss;
    public final String launch;
    /** Whether launch named a live context the EMR's client had set. */
    public final boolean knownContext;
    public volatile String appOutcome = "not run";

    Launch(String iss, String launch, boolean knownContext) {
      this.iss = iss;
      this.launch = launch;
      this.knownContext = knownContext;
    }
  }

  private final URI publicBase;
  final String emrClientId;
  final String appId;
  private final String username;
  private final String password;
  final HookRelay relay;
  final RecordingProxy proxy;
  final List<Launch> launches = new CopyOnWriteArrayList<>();
  final List<String> rewrittenEndpoints = new CopyOnWriteArrayList<>();
  private volatile SofaServer sofa;
  private final ExecutorService app = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "kit-app");
    t.setDaemon(true);
    return t;
  });

  public PocState(URI publicBase, String emrClientId, String appId, String username, String password,
      HookRelay relay, RecordingProxy proxy) {
    this.publicBase = publicBase;
    this.emrClientId = emrClientId;
    this.appId = appId;
    this.username = username;
    this.password = password;
    this.relay = relay;
    this.proxy = proxy;
  }

  public URI publicBase() {
    return publicBase;
  }

  public void sofa(SofaServer s) {
    this.sofa = s;
  }

  URI fhirBase() {
    return URI.create(publicBase + "/fhir");
  }

  /** Rest-hook endpoints of the EMR's subscriptions are routed through the relay. */
  public String rewrite(String method, String path, String body) {
    if (!"POST".equals(method) || !path.endsWith("/fhir/Subscription")) {
      return body;
    }
    try {
      JsonNode n = Http.JSON.readTree(body);
      JsonNode ch = n.path("channel");
      if ("Subscription".equals(n.path("resourceType").asText()) && "rest-hook".equals(ch.path("type").asText())
          && ch.path("endpoint").isTextual()) {
        URI original = URI.create(ch.path("endpoint").asText());
        java.util.Optional<String[]> route = relay.route(original);
        if (route.isEmpty()) {
          return body;
        }
        rewrittenEndpoints.add(original.toString());
        ((ObjectNode) ch).put("endpoint", route.get()[0]);
        com.fasterxml.jackson.databind.node.ArrayNode headers = ch.path("header").isArray()
            ? (com.fasterxml.jackson.databind.node.ArrayNode) ch.get("header") : ((ObjectNode) ch).putArray("header");
        headers.add(HookRelay.SECRET_HEADER + ": " + route.get()[1]);
        return Http.JSON.writeValueAsString(n);
      }
    } catch (IOException | IllegalArgumentException e) {
      // not JSON, or not a URI: the SoFA answers it as it is
    }
    return body;
  }

  /** The kit app's launch endpoint. */
  public HttpServlet appServlet(SofaServer s) {
    return new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"/launch".equals(req.getPathInfo())) {
          resp.setStatus(404);
          return;
        }
        String iss = req.getParameter("iss");
        String launch = req.getParameter("launch");
        boolean known = launch != null && !launch.isEmpty()
            && s.contexts().find(launch, Instant.now()).filter(c -> emrClientId.equals(c.ownerClientId())).isPresent();
        Launch l = new Launch(iss, launch, known);
        launches.add(l);
        if (known && fhirBase().toString().equals(iss) && launches.size() == 1) {
          app.execute(() -> playApp(l, s));
        }
        resp.setStatus(200);
        resp.setContentType("text/html; charset=utf-8");
        resp.getOutputStream().write(("<!doctype html><title>HALO conformance kit app</title><p>Launched."
            + " The kit's app writes back two Observations now.</p>").getBytes(StandardCharsets.UTF_8));
      }
    };
  }

  /** The app's part: sign in by SSO-less code + PKCE, then write back twice (the first one's notice held back). */
  private void playApp(Launch l, SofaServer s) {
    try {
      URI internal = URI.create("http://127.0.0.1:" + s.localPort());
      Http http = Http.plain();
      Browser b = new Browser(username, password, new Trust(internal, List.of(publicBase)));
      Pkce p = Pkce.create();
      String redirect = publicBase + "/kit-app/callback";
      String q = Http.form(new java.util.LinkedHashMap<>(Map.of("response_type", "code", "client_id", appId,
          "redirect_uri", redirect, "scope", "launch openid fhirUser patient/*.rs patient/Observation.c",
          "state", Pkce.random(16), "aud", fhirBase().toString(), "launch", l.launch,
          "code_challenge", p.challenge, "code_challenge_method", "S256")));
      Browser.Outcome o = b.authorize(URI.create(internal + "/auth/authorize?" + q), redirect);
      if (o.redirect == null || o.param("code").isEmpty()) {
        l.appOutcome = "the kit app got no code (HTTP " + o.status + ")";
        return;
      }
      Http.Response t = http.postForm(URI.create(internal + "/auth/token"), Map.of("grant_type", "authorization_code",
          "code", o.param("code").get(), "redirect_uri", redirect, "code_verifier", p.verifier, "client_id", appId));
      JsonNode tok = t.json();
      String token = tok.path("access_token").asText(null);
      String patient = tok.path("patient").asText(null);
      if (token == null || patient == null) {
        l.appOutcome = "the kit app's token has no patient context";
        return;
      }
      Http.Response w1 = http.postFhir(URI.create(internal + "/fhir/Observation"), Fhir.observation(patient, "kit-write-1"), token);
      if (relay.anyRoute()) {
        relay.awaitDropped(Duration.ofSeconds(10));
      } else {
        Thread.sleep(1000);
      }
      Http.Response w2 = http.postFhir(URI.create(internal + "/fhir/Observation"), Fhir.observation(patient, "kit-write-2"), token);
      l.appOutcome = "wrote back two Observations (HTTP " + w1.status + ", " + w2.status + ")";
    } catch (RuntimeException | InterruptedException e) {
      l.appOutcome = "the kit app failed: " + e.getMessage();
    }
  }

  /** Waits for a $clear-context the SoFA has answered. */
  public boolean awaitClear(Duration max) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < end) {
      for (RecordingProxy.Exchange e : proxy.exchanges()) {
        if (e.path().endsWith("/fhir/$clear-context") && e.status > 0) {
          Thread.sleep(500);
          return true;
        }
      }
      Thread.sleep(100);
    }
    return false;
  }

  @Override
  public void close() {
    app.shutdownNow();
  }
}
