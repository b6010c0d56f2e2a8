package ca.halo.conformance;

import ca.halo.conformance.internal.Reports;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The kit's command line. Exit 0 when no check failed, 1 when one did, 2 for a usage error.
 *
 * <pre>
 *   java -jar halo-conformance.jar sofa --fhir-base https://sofa.example/fhir --catalog https://sofa.example/catalog \
 *       --emr-client emr --emr-secret s --emr-redirect https://emr.example/cb --user u --password p \
 *       --app-client growth-chart --app-redirect https://app.example/cb --report-dir halo-report
 *   java -jar halo-conformance.jar catalog --catalog https://catalog.example --report-dir halo-report
 *   java -jar halo-conformance.jar poc --port 8443 --report-dir halo-report
 * </pre>
 */
@Command(name = "halo-conformance", mixinStandardHelpOptions = true, version = "halo-conformance 0.1",
    description = "Checks whether a SoFA, an App Catalog or an EMR (the PoC) speaks HALO.",
    subcommands = {ConformanceMain.Sofa.class, ConformanceMain.Catalog.class, PocCommand.class})
public final class ConformanceMain implements Callable<Integer> {
  final PrintStream out;

  ConformanceMain(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, out);
    return 2;
  }

  public static void main(String[] args) {
    System.exit(run(System.out, args));
  }

  /** Runs the command line; returns the exit code. */
  public static int run(PrintStream out, String... args) {
    CommandLine cl = new CommandLine(new ConformanceMain(out));
    cl.setOut(new java.io.PrintWriter(out, true));
    cl.setExitCodeExceptionMapper(e -> 2);
    cl.setParameterExceptionHandler((e, a) -> {
      out.println(e.getMessage());
      return 2;
    });
    return cl.execute(args);
  }

  /** Where the reports go. */
  static final class ReportOptions {
    @Option(names = "--report-dir", description = "Writes report.html and junit.xml here.")
    Path dir;

    int finish(ConformanceReport r, PrintStream out) throws Exception {
      return finish(r, out, false);
    }

    /** Prints the totals (every line too unless they were printed as the checks ran), writes the reports. */
    int finish(ConformanceReport r, PrintStream out, boolean linesShown) throws Exception {
      if (linesShown) {
        out.println(r.count(Outcome.PASS) + " passed, " + r.count(Outcome.FAIL) + " failed, "
            + r.count(Outcome.SKIP) + " skipped");
      } else {
        r.printSummary(out);
      }
      if (dir != null) {
        r.writeHtml(dir.resolve("report.html"));
        r.writeJUnitXml(dir.resolve("junit.xml"));
        out.println("reports: " + dir.resolve("report.html") + ", " + dir.resolve("junit.xml"));
      }
      return r.passed() ? 0 : 1;
    }
  }

  @Command(name = "sofa", mixinStandardHelpOptions = true,
      description = "Checks a SoFA: discovery, authorization, $set-context, launch, subscriptions, $clear-context"
          + " (and its App Catalog with --catalog). Creates and clears test contexts: use a test deployment.")
  static final class Sofa implements Callable<Integer> {
    @Option(names = "--fhir-base", required = true, description = "The SoFA's FHIR base (the iss apps get).") URI fhirBase;
    @Option(names = "--catalog", description = "The App Catalog's base ([base]/apps).") URI catalog;
    @Option(names = "--emr-client", required = true, description = "The EMR's client id.") String emrClient;
    @Option(names = "--emr-secret", description = "The EMR's client secret (client_secret_basic); none for a public client.") String emrSecret;
    @Option(names = "--emr-redirect", required = true, description = "A redirect URI registered for the EMR.") URI emrRedirect;
    @Option(names = "--emr-scopes", description = "Scopes the EMR asks (default: ${DEFAULT-VALUE}).",
        defaultValue = "openid fhirUser user/Context.write user/*.rs offline_access") String emrScopes;
    @Option(names = "--user", required = true, description = "Test sign-in: user name.") String user;
    @Option(names = "--password", required = true, description = "Test sign-in: password.") String password;
    @Option(names = "--user2", description = "A second test clinician, for checks between callers.") String user2;
    @Option(names = "--password2", description = "The second clinician's password.") String password2;
    @Option(names = "--app-client", required = true, description = "A public app client registered with the SoFA.") String appClient;
    @Option(names = "--app-redirect", required = true, description = "Its registered redirect URI.") URI appRedirect;
    @Option(names = "--app-id", description = "Its App Catalog id (default: the client id).") String appId;
    @Option(names = "--app-scopes", description = "Scopes the app asks (default: ${DEFAULT-VALUE}).",
        defaultValue = "launch openid fhirUser patient/*.rs patient/Observation.c") String appScopes;
    @Option(names = "--topic", description = "The subscription topic (default: HALO's).", defaultValue = SofaTarget.HALO_TOPIC) String topic;
    @Option(names = "--hook-host", description = "A host of this machine the SoFA reaches over http, for rest-hook checks.") String hookHost;
    @Option(names = "--trust-origin", description = "Another origin (e.g. https://idp.example.ca) that may receive the"
        + " sign-in and client credentials; by default only the FHIR base's.") java.util.List<URI> trustOrigins = new java.util.ArrayList<>();
    @CommandLine.Mixin ReportOptions report;
    @CommandLine.ParentCommand ConformanceMain parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      PrintStream out = parent.out;
      SofaTarget.Builder b = SofaTarget.builder(fhirBase).catalogBase(catalog)
          .emrClient(emrClient, emrSecret == null || emrSecret.equals("none") ? null : emrSecret, emrRedirect)
          .emrScopes(emrScopes).signIn(user, password).appClient(appClient, appRedirect).appId(appId)
          .appScopes(appScopes).topic(topic).hookHost(hookHost);
      trustOrigins.forEach(b::trustOrigin);
      if (user2 != null) {
        if (password2 == null) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--user2 needs --password2");
        }
        b.secondSignIn(user2, password2);
      }
      out.println("HALO conformance: checking the SoFA at " + fhirBase + " ...");
      ConformanceReport r = ConformanceKit.checkSofa(b.build(), x -> out.println("  " + Reports.line(x).stripTrailing()));
      return report.finish(r, out, true);
    }
  }

  @Command(name = "catalog", mixinStandardHelpOptions = true, description = "Checks an App Catalog supplier alone.")
  static final class Catalog implements Callable<Integer> {
    @Option(names = "--catalog", required = true, description = "The App Catalog's base ([base]/apps).") URI catalog;
    @Option(names = "--app-id", description = "An app that must be listed and active.") String appId;
    @CommandLine.Mixin ReportOptions report;
    @CommandLine.ParentCommand ConformanceMain parent;

    @Override
    public Integer call() throws Exception {
      PrintStream out = parent.out;
      ConformanceReport r = ConformanceKit.checkCatalog(catalog, appId, x -> out.println("  " + Reports.line(x).stripTrailing()));
      return report.finish(r, out, true);
    }
  }
}
