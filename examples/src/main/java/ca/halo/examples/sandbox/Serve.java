package ca.halo.examples.sandbox;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;

/** {@code --serve}: keeps the jurisdiction running and prints what a stranger's tools need. */
final class Serve {
  private Serve() {}

  static int run(HaloSandbox.Options o, PrintStream out) throws InterruptedException {
    Jurisdiction j = withWebPages(o.host, o.port);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      j.close();
      stop.countDown();
    }, "halo-sandbox-shutdown"));
    String base = j.sofa.baseUrl().toString();
    out.println("HALO sandbox serving on " + base + " (Ctrl-C to stop)");
    out.println();
    out.println("  Web EMR (start here)  " + base + "/emr/");
    out.println("  App Catalog           " + base + "/catalog/apps");
    out.println("  SoFA FHIR base (iss)  " + j.sofa.fhirBase());
    out.println("  SMART configuration   " + j.sofa.fhirBase() + "/.well-known/smart-configuration");
    out.println("  OpenID configuration  " + j.sofa.authorizationServer().issuer() + "/.well-known/openid-configuration");
    out.println("  Authorize / token     " + j.sofa.authorizationServer().authorizationEndpoint()
        + "  " + j.sofa.authorizationServer().tokenEndpoint());
    out.println();
    out.println("  Test sign-in          user '" + Jurisdiction.CLINICIAN + "', password '"
        + Jurisdiction.CLINICIAN_PASSWORD + "' (" + Jurisdiction.CLINICIAN_FHIR_USER + ")");
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

  /** The jurisdiction plus the web EMR at /emr/ and the sample apps at /apps/{id}/. */
  static Jurisdiction withWebPages(String host, int port) {
    java.util.concurrent.atomic.AtomicReference<Jurisdiction> ref = new java.util.concurrent.atomic.AtomicReference<>();
    Jurisdiction j = new Jurisdiction(host, port, b -> b
        .mount("/emr/*", WebEmrServlet::new)
        .mount("/apps/*", s -> new SampleAppServlet(() -> ref.get().catalog, s.fhirContext(),
            s.baseUrl())));
    ref.set(j);
    return j;
  }
}
