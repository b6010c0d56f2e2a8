package ca.halo.conformance;

import ca.halo.conformance.internal.HookRelay;
import ca.halo.conformance.internal.PocChecks;
import ca.halo.conformance.internal.PocState;
import ca.halo.conformance.internal.RecordingProxy;
import ca.halo.core.SmartScopes;
import ca.halo.core.catalog.AppListing;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.EndpointPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The {@code poc} target: the kit plays a SoFA, with its IdP, App Catalog and a test app, and
 * records what the EMR under test sends. Point the EMR at {@link #fhirBase()} (and the catalog),
 * sign in with the printed test user, set a context for the app {@value #APP_ID}, subscribe, launch
 * the app, let it write back, and clear the context. The kit's app writes two Observations after
 * the launch and holds back the first one's notification, so the EMR must notice the gap and
 * recover it with {@code $events}. Then {@link #report()} says what the EMR did right or wrong.
 *
 * <pre>{@code
 * try (PocSession kit = PocSession.builder().emrClient("my-emr", "secret", redirect).start()) {
 *   kit.printInstructions(System.out);
 *   kit.awaitClearContext(Duration.ofMinutes(15));
 *   kit.report().writeHtml(Path.of("poc-report.html"));
 * }
 * }</pre>
 */
public final class PocSession implements AutoCloseable {
  /** The kit's own app, in its catalog and as a public client. */
  public static final String APP_ID = "halo-kit-app";

  private final RecordingProxy proxy;
  private final HookRelay relay;
  private final SofaServer sofa;
  private final PocState state;
  private final String username;
  private final String password;
  private final String emrClientId;
  private final boolean emrPublic;
  private final List<URI> emrRedirects;

  private PocSession(Builder b) throws IOException {
    this.username = b.username;
    this.password = b.password;
    this.emrClientId = b.emrClientId;
    this.emrPublic = b.emrSecret == null;
    this.emrRedirects = List.copyOf(b.emrRedirects);
    proxy = new RecordingProxy(b.host, b.port);
    relay = new HookRelay(b.host);
    String h = b.host.contains(":") ? "[" + b.host + "]" : b.host;
    URI publicBase = URI.create("http://" + h + ":" + proxy.port());
    InMemoryClientRegistry clients = new InMemoryClientRegistry();
    RegisteredClient.Builder emr = RegisteredClient.builder(b.emrClientId).name("EMR under test")
        .allowedScopes(SmartScopes.parse("openid fhirUser profile user/Context.write user/*.rs user/*.cruds"
            + " offline_access online_access"));
    if (b.emrSecret == null) {
      emr.type(RegisteredClient.Type.PUBLIC);
    } else {
      emr.type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret(b.emrSecret);
    }
    for (URI r : b.emrRedirects) {
      emr.redirectUri(r);
    }
    clients.register(emr.build());
    InMemoryAppCatalogRepository catalog = new InMemoryAppCatalogRepository(List.of());
    FormUserAuthenticator users = new FormUserAuthenticator().addUser(b.username, b.password,
        new AuthenticatedUser(b.username, "Practitioner/kit-clinician", "Dr. Conformance Kit"));
    state = new PocState(publicBase, b.emrClientId, APP_ID, b.username, b.password, relay, proxy);
    sofa = SofaServer.builder().host(b.host).port(0).publicBaseUrl(publicBase)
        .clients(clients).users(users).catalog(catalog)
        .subscriptionEndpointPolicy(EndpointPolicy.builder().allowLoopback(true).unsafeAllowPlainHttp(true).build())
        .mount("/kit-app/*", s -> state.appServlet(s))
        .build().start();
    state.sofa(sofa);
    proxy.backend(sofa.localPort());
    proxy.rewriter(state::rewrite);
    catalog.replaceAll(AppListing.parseList("{\"apps\":[{\"id\":\"" + APP_ID + "\",\"name\":\"HALO conformance kit app\","
        + "\"description\":\"Launched by the EMR under test; writes back two Observations.\",\"status\":\"active\","
        + "\"launchUrl\":\"" + publicBase + "/kit-app/launch\",\"redirectUris\":[\"" + publicBase + "/kit-app/callback\"],"
        + "\"clientId\":\"" + APP_ID + "\",\"clientType\":\"public\",\"scopes\":[\"launch\",\"openid\",\"fhirUser\","
        + "\"patient/*.rs\",\"patient/Observation.c\"],\"launchTypes\":[\"ehr\"],\"fhirVersions\":[\"4.0.1\"],"
        + "\"contextRequirements\":[\"patient\"]}]}"));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The kit SoFA's FHIR base: the EMR's iss. */
  public URI fhirBase() {
    return URI.create(state.publicBase() + "/fhir");
  }

  public URI catalogBase() {
    return URI.create(state.publicBase() + "/catalog");
  }

  public String username() {
    return username;
  }

  public String password() {
    return password;
  }

  /** What the EMR's operator needs, one line each. */
  public void printInstructions(PrintStream out) {
    out.println("HALO conformance kit playing a SoFA for the EMR under test (poc)");
    out.println("  SoFA FHIR base (iss)   " + fhirBase());
    out.println("  SMART configuration    " + fhirBase() + "/.well-known/smart-configuration");
    out.println("  App Catalog            " + catalogBase() + "/apps");
    out.println("  Test sign-in           user '" + username + "', password '" + password + "'");
    out.println("  EMR client             id '" + emrClientId + "'"
        + (emrPublic ? " (public, PKCE)" : " (client_secret_basic)") + ", redirect " + emrRedirects);
    out.println("  App to launch          appID '" + APP_ID + "' (its launch URL is in the catalog)");
    out.println("  Do: sign in, $set-context for the app, subscribe (rest-hook or websocket) to the HALO topic,");
    out.println("      launch the app, wait for its two write-backs, then $clear-context.");
  }

  /** Waits until the EMR has cleared a context (or {@code max} passed); true if it did. */
  public boolean awaitClearContext(Duration max) throws InterruptedException {
    return state.awaitClear(max);
  }

  /** Evaluates what was recorded so far. */
  public ConformanceReport report() {
    return report(r -> { });
  }

  public ConformanceReport report(Consumer<CheckResult> progress) {
    Instant start = Instant.now();
    List<CheckResult> results = new ArrayList<>(PocChecks.evaluate(state, progress));
    return new ConformanceReport("poc", fhirBase().toString(), start, results);
  }

  @Override
  public void close() {
    state.close();
    sofa.close();
    relay.close();
    proxy.close();
  }

  @Override
  public String toString() {
    return "PocSession{" + fhirBase() + "}";
  }

  /** Settings of a {@link PocSession}. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port;
    private String emrClientId;
    private String emrSecret;
    private final List<URI> emrRedirects = new ArrayList<>();
    private String username = "clinician";
    private String password = "halo-conformance";

    private Builder() {}

    /** Where the kit listens; loopback and a free port by default. */
    public Builder listen(String host, int port) {
      this.host = Objects.requireNonNull(host);
      this.port = port;
      return this;
    }

    /** The EMR's client as the kit registers it; {@code secret} null for a public client. */
    public Builder emrClient(String clientId, String secret, URI redirectUri) {
      this.emrClientId = Objects.requireNonNull(clientId);
      this.emrSecret = secret;
      this.emrRedirects.add(Objects.requireNonNull(redirectUri));
      return this;
    }

    public Builder signIn(String user, String pass) {
      this.username = Objects.requireNonNull(user);
      this.password = Objects.requireNonNull(pass);
      return this;
    }

    public PocSession start() {
      if (emrClientId == null) {
        throw new IllegalStateException("set the EMR's client with emrClient(...)");
      }
      try {
        return new PocSession(this);
      } catch (IOException e) {
        throw new UncheckedIOException("could not listen on " + host + ":" + port, e);
      }
    }
  }
}
