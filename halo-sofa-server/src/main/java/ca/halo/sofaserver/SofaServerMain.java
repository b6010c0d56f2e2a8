package ca.halo.sofaserver;

import ca.halo.sofaserver.config.ConfigException;
import ca.halo.sofaserver.config.SofaConfig;
import ca.halo.sofaserver.config.SofaConfigLoader;
import ca.halo.sofaserver.internal.Logging;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line of the SoFA server:
 * {@code java -jar halo-sofa-server.jar --config sofa.yaml [--check]}.
 *
 * <p>Exit codes: 0 after a clean stop (or a passing {@code --check}), 2 for a configuration
 * error (every problem printed to stderr, one per line, each naming its key) or a bad command
 * line, 1 when the server fails to start for another reason.
 */
@Command(name = "halo-sofa-server", mixinStandardHelpOptions = true,
    versionProvider = SofaServerMain.Version.class,
    description = "Runs the HALO SoFA (SMART on FHIR Accelerator) and App Catalog configured"
        + " by one YAML file; every key can be overridden by a HALO_* environment variable.")
public final class SofaServerMain {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SofaServerMain.class);
  /** A configuration error, or a bad command line. */
  public static final int EXIT_CONFIG = 2;
  /** The server could not start for another reason. */
  public static final int EXIT_FAILED = 1;

  @Option(names = "--config", required = true, paramLabel = "<file>",
      description = "The YAML configuration file.")
  private Path config;

  @Option(names = "--check", description = "Check the configuration and exit (0: fine,"
      + " 2: problems) without starting anything.")
  private boolean check;

  private SofaServerMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err));
  }

  /**
   * Runs the command: checks the configuration, then (without {@code --check}) starts the server
   * and blocks until it is stopped (a shutdown hook closes it when the JVM is asked to exit).
   *
   * @return the exit code
   */
  public static int run(String[] args, Map<String, String> env, PrintStream out,
      PrintStream err) {
    SofaServerMain options = new SofaServerMain();
    CommandLine cl = new CommandLine(options);
    try {
      cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      err.println(e.getMessage());
      cl.usage(err);
      return EXIT_CONFIG;
    }
    if (cl.isUsageHelpRequested()) {
      cl.usage(out);
      return 0;
    }
    if (cl.isVersionHelpRequested()) {
      cl.printVersionHelp(new PrintWriter(out, true));
      return 0;
    }
    SofaConfig config;
    try {
      config = SofaConfigLoader.load(options.config, env);
    } catch (ConfigException e) {
      e.problems().forEach(err::println);
      return EXIT_CONFIG;
    }
    if (options.check) {
      out.println(options.config + ": configuration OK");
      return 0;
    }
    Logging.configure(config.logging().format(), config.logging().level());
    SofaApplication app;
    try {
      app = SofaApplication.start(config);
    } catch (ConfigException e) {
      e.problems().forEach(err::println);
      return EXIT_CONFIG;
    } catch (RuntimeException e) {
      err.println("halo-sofa-server: cannot start: " + SofaApplication.rootMessage(e));
      return EXIT_FAILED;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // printed as well as logged: the logger may be stopping too
      out.println("HALO SoFA stopping: finishing requests in flight (at most "
          + config.server().shutdownGrace().toSeconds() + " s), handing subscription leases back");
      LOG.info("stopping: finishing requests in flight (at most {}), handing subscription leases"
          + " back", config.server().shutdownGrace());
      long t0 = System.nanoTime();
      app.close();
      out.println("HALO SoFA stopped in "
          + java.time.Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
      out.flush();
    }, "halo-sofa-shutdown"));
    long sinceJvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
    if (app.ready()) {
      LOG.info("ready in {} ms from JVM start (/readyz 200)", sinceJvmStart);
    } else {
      LOG.warn("started in {} ms but not ready (/readyz 503)", sinceJvmStart);
    }
    out.println("HALO SoFA serving " + app.sofa().baseUrl() + " (FHIR base "
        + app.sofa().fhirBase() + ")");
    try {
      app.awaitClosed();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      app.close();
    }
    return 0;
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = SofaServerMain.class.getPackage().getImplementationVersion();
      return new String[] {"halo-sofa-server " + (v == null ? "(development)" : v)};
    }
  }
}
