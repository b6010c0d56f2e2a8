package ca.halo.examples.sandbox;

import java.io.PrintStream;
import java.net.URI;
import java.util.concurrent.CountDownLatch;

/** {@code --serve}: keeps the jurisdiction running and prints what a stranger's tools need. */
final class Serve {
  private Serve() {}

  static int run(HaloSandbox.Options o, PrintStream out) throws Exception {
    if (o.sofa != null) {
      return external(o, out);
    }
    SandboxStore store = SandboxStore.open(o);
    Jurisdiction j = withWebPages(o.host, o.port, store.customizer());
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      j.close();
      store.close();
      stop.countDown();
    }, "halo-sandbox-shutdown"));
    String base = j.sofa.baseUrl().toString();
    out.println("HALO sandbox serving on " + base + " (Ctrl-C to stop)");
    out.println();
    out.println("  Web EMR (start here)  " + base + "/emr/");
    out.println("  Store                 " + store);
    out.println("  App Catalog           " + base + "/catalog/apps");
    out.println("  SoFA FHIR base (iss)  " + j.sofa.fhirBase());
    out.println("  SMART configuration   " + j.sofa.fhirBase() + "/.well-known/smart-configuration");
    out.println("  OpenID configuration  " + j.sofa.authorizationServer().issuer() + "/.well-known/openid-configuration");
    out.println("  Authorize / token     " + j.sofa.authorizationServer().authorizationEndpoint()
        + "  " + j.sofa.authorizationServer().tokenEndpoint());
    out.println("  Subscriptions         " + j.sofa.fhirBase() + "/Subscription (websocket "
        + j.sofa.baseUrl().toString().replaceFirst("^http", "ws") + "/ws/subscriptions); rest-hooks"
        + " allowed to loopback over http in this sandbox only (" + Jurisdiction.SANDBOX_HOOKS + ")");
    out.println();
    out.println("  Test sign-in          user '" + Jurisdiction.CLINICIAN + "', password '"
        + Jurisdiction.CLINICIAN_PASSWORD + "' (" + Jurisdiction.CLINICIAN_FHIR_USER + "); user '"
        + Jurisdiction.CLINICIAN2 + "', password '" + Jurisdiction.CLINICIAN2_PASSWORD + "' ("
        + Jurisdiction.CLINICIAN2_FHIR_USER + ")");
    out.println("  EMR client            id '" + Jurisdiction.EMR_CLIENT_ID + "', secret '"
        + Jurisdiction.EMR_SECRET + "' (client_secret_basic), redirect " + j.emrRedirect
        + ", scopes '" + Jurisdiction.EMR_SCOPES + "'");
    for (var app : j.catalog.all()) {
      if (app.isActive()) {
        out.println("  App client            id '" + app.clientId().orElse("?") + "' (public, PKCE S256), redirect "
            + app.redirectUris() + ", launch URL " + app.launchUrl().orElse(null)
            + ", scopes '" + app.scopes() + "'");
      }
    }
    stop.await();
    return 0;
  }

  /**
   * Only the web EMR, pointed at an external SoFA, App Catalog and IdP. Register
   * {@code http://host:port/emr/callback} as the EMR client's redirect URI at the IdP.
   */
  static int external(HaloSandbox.Options o, PrintStream out) throws Exception {
    org.eclipse.jetty.server.Server jetty = startExternal(o, out);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        jetty.stop();
      } catch (Exception e) {
        // stopping anyway
      }
      stop.countDown();
    }, "halo-sandbox-shutdown"));
    stop.await();
    return 0;
  }

  /** Starts the web EMR alone, pointed at the external services of {@code o}. */
  static org.eclipse.jetty.server.Server startExternal(HaloSandbox.Options o, PrintStream out) throws Exception {
    URI base = URI.create("http://" + (o.host.contains(":") ? "[" + o.host + "]" : o.host) + ":" + o.port);
    EmrConfig cfg = new EmrConfig(base, URI.create(o.sofa), URI.create(o.catalog == null ? o.sofa : o.catalog),
        o.idp == null ? null : URI.create(o.idp), o.clientId, o.clientSecret, o.scopes,
        ca.uhn.fhir.context.FhirContext.forR4Cached());
    org.eclipse.jetty.server.Server jetty = new org.eclipse.jetty.server.Server();
    org.eclipse.jetty.server.ServerConnector c = new org.eclipse.jetty.server.ServerConnector(jetty);
    c.setHost(o.host);
    c.setPort(o.port);
    jetty.addConnector(c);
    org.eclipse.jetty.ee10.servlet.ServletContextHandler h = new org.eclipse.jetty.ee10.servlet.ServletContextHandler("/");
    h.addServlet(new org.eclipse.jetty.ee10.servlet.ServletHolder(new WebEmrServlet(cfg)), "/emr/*");
    jetty.setHandler(h);
    jetty.start();
    out.println("HALO sandbox web EMR on " + base + "/emr/ (Ctrl-C to stop)");
    out.println("  SoFA FHIR base        " + cfg.sofaFhirBase());
    out.println("  App Catalog           " + cfg.catalogBase() + "/apps");
    out.println("  Clinician sign-in at  " + cfg.loginIss() + (cfg.idpIssuer() == null ? " (the SoFA's SMART configuration)" : " (OpenID provider)"));
    out.println("  EMR client            id '" + cfg.clientId() + "', redirect " + cfg.redirectUri()
        + ", scopes '" + cfg.scopes() + "'");
    out.println("  Rest-hooks            " + base + "/emr/hook/{route}, a route and secret per launch"
        + " (the EMR creates the subscriptions; the SoFA must reach this address)");
    return jetty;
  }

  /** The jurisdiction plus the web EMR at /emr/ and the sample apps at /apps/{id}/. */
  static Jurisdiction withWebPages(String host, int port) {
    return withWebPages(host, port, b -> { });
  }

  /** As {@link #withWebPages(String, int)}, with the SoFA's stores set by {@code stores}. */
  static Jurisdiction withWebPages(String host, int port,
      java.util.function.Consumer<ca.halo.server.sofa.SofaServer.Builder> stores) {
    java.util.concurrent.atomic.AtomicReference<Jurisdiction> ref = new java.util.concurrent.atomic.AtomicReference<>();
    Jurisdiction j = new Jurisdiction(host, port, b -> stores.accept(b
        .mount("/emr/*", s -> new WebEmrServlet(EmrConfig.embedded(s)))
        .mount("/apps/*", s -> new SampleAppServlet(() -> ref.get().catalog, s.fhirContext(),
            s.baseUrl(), java.util.Set.of(s.fhirBase()))))); // the apps trust this SoFA only
    ref.set(j);
    return j;
  }
}
