package ca.halo.conformance;

import ca.halo.conformance.internal.Reports;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code poc}: the kit plays a SoFA and checks what the EMR under test sends. */
@Command(name = "poc", mixinStandardHelpOptions = true,
    description = "Plays a SoFA (with IdP, App Catalog and a test app) for the EMR under test, waits until the EMR"
        + " clears its context (or --wait passes), then reports what the EMR did.")
final class PocCommand implements Callable<Integer> {
  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Where the kit listens (default: ${DEFAULT-VALUE}).") String host;
  @Option(names = "--port", defaultValue = "8099", description = "Its port (default: ${DEFAULT-VALUE}; 0 for a free one).") int port;
  @Option(names = "--emr-client", required = true, description = "The EMR's client id, registered with the kit.") String emrClient;
  @Option(names = "--emr-secret", description = "Its secret (16+ characters; client_secret_basic); leave out for a public client.") String emrSecret;
  @Option(names = "--emr-redirect", required = true, split = ",", description = "Its redirect URI(s).") List<URI> emrRedirects;
  @Option(names = "--user", defaultValue = "clinician", description = "The test sign-in's user name (default: ${DEFAULT-VALUE}).") String user;
  @Option(names = "--password", defaultValue = "halo-conformance", description = "Its password (default: ${DEFAULT-VALUE}).") String password;
  @Option(names = "--wait", defaultValue = "PT15M", description = "How long to wait for the EMR (ISO-8601, default ${DEFAULT-VALUE}).") Duration wait;
  @CommandLine.Mixin ConformanceMain.ReportOptions report;
  @CommandLine.ParentCommand ConformanceMain parent;

  @Override
  public Integer call() throws Exception {
    PrintStream out = parent.out;
    PocSession.Builder b = PocSession.builder().listen(host, port).signIn(user, password);
    for (URI r : emrRedirects) {
      b.emrClient(emrClient, emrSecret, r);
    }
    try (PocSession kit = b.start()) {
      kit.printInstructions(out);
      out.println();
      out.println("waiting up to " + wait + " for the EMR's $clear-context ...");
      boolean cleared = kit.awaitClearContext(wait);
      out.println(cleared ? "the EMR cleared its context; evaluating" : "no $clear-context in time; evaluating what was seen");
      ConformanceReport r = kit.report(x -> { });
      return report.finish(r, out);
    }
  }
}
