package ca.halo.examples.sandbox;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The HALO sandbox: a whole jurisdiction on loopback, and the seed flows of HALO driven through
 * it with the SDK's own clients. Exits non-zero if any step fails, so it is also a smoke test.
 *
 * <pre>
 *   mvn -B -q -Psandbox -DskipTests verify                              # run the demo
 *   mvn -B -q -Psandbox -DskipTests verify -Dsandbox.args="--serve"     # keep serving
 * </pre>
 *
 * <p>Options: {@code --serve} keeps the jurisdiction running and prints every URL, client and
 * test sign-in; {@code --host H} and {@code --port N} choose where it listens (loopback, free port
 * by default; 8080 with --serve).
 */
public final class HaloSandbox {
  private HaloSandbox() {}

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    int code = o.serve ? Serve.run(o, System.out) : demo(o, System.out);
    System.exit(code);
  }

  /** Runs both flows; returns the process exit code (0 when every step passed). */
  public static int demo(Options o, PrintStream out) {
    out.println("HALO sandbox: starting a jurisdiction on " + o.host + " ...");
    List<Steps.Result> all = new ArrayList<>();
    boolean ok;
    try (Jurisdiction j = new Jurisdiction(o.host, o.port, b -> { })) {
      out.println("  App Catalog  " + j.sofa.catalogBase() + "/apps");
      out.println("  SoFA FHIR    " + j.sofa.fhirBase());
      out.println("  IdP / AS     " + j.sofa.authorizationServer().issuer());
      out.println();
      out.println("SoFA flow (EMR without its own FHIR server):");
      Steps sofa = SofaFlow.run(j, out);
      all.addAll(sofa.results());
      out.println();
      out.println("SoF flow (EMR with its own FHIR server and IdP, same app unchanged):");
      Steps sof = SofFlow.run(j, out);
      all.addAll(sof.results());
      ok = sofa.allPassed() && sof.allPassed();
    }
    out.println();
    long passed = all.stream().filter(Steps.Result::passed).count();
    out.println((ok ? "ALL STEPS PASSED" : "SOME STEPS FAILED") + ": " + passed + " of " + all.size());
    out.println(passed + " passed, " + (all.size() - passed) + " failed");
    return ok ? 0 : 1;
  }

  /** Command-line options. */
  public static final class Options {
    public boolean serve;
    public String host = "127.0.0.1";
    public int port = -1;

    public static Options parse(String[] raw) {
      Options o = new Options();
      // Maven passes -Dsandbox.args as one argument: split it on white space
      String[] args = String.join(" ", raw).trim().isEmpty() ? new String[0]
          : String.join(" ", raw).trim().split("\\s+");
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--serve": o.serve = true; break;
          case "--host": o.host = args[++i]; break;
          case "--port": o.port = Integer.parseInt(args[++i]); break;
          case "": break;
          default:
            throw new IllegalArgumentException("unknown option " + args[i]
                + "; use --serve, --host H, --port N");
        }
      }
      if (o.port < 0) {
        o.port = o.serve ? 8080 : 0;
      }
      return o;
    }
  }
}
