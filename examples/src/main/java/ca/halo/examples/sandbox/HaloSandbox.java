package ca.halo.examples.sandbox;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The HALO sandbox: a whole jurisdiction on loopback, and the seed flows of HALO driven through
 * it with the SDK's own clients. Exits non-zero if any step fails, so it is also a smoke test.
 *
 * <pre>
 *   mvn -B -q -Psandbox -DskipTests -pl examples -am package                              # run the demo
 *   mvn -B -q -Psandbox -DskipTests -pl examples -am package -Dsandbox.args="--serve"     # keep serving
 * </pre>
 *
 * <p>Options: {@code --serve} keeps the jurisdiction running and prints every URL, client and
 * test sign-in; {@code --host H} and {@code --port N} choose where it listens (loopback, free port
 * by default; 8080 with --serve). With {@code --serve --sofa URL} only the web EMR runs, pointed
 * at an external SoFA ({@code --catalog URL}, {@code --idp URL} for an OpenID provider,
 * {@code --client-id}, {@code --client-secret} or {@code none}, {@code --scopes a,b,c}).
 * {@code --store postgres} keeps the SoFA's state in PostgreSQL: an embedded server started here,
 * or the database of {@code --jdbc-url jdbc:postgresql://host/db?user=u&password=p}.
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
    try (SandboxStore store = SandboxStore.open(o);
        Jurisdiction j = new Jurisdiction(o.host, o.port, store.customizer())) {
      out.println("  Store        " + store);
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
    /** With --serve: an external SoFA FHIR base; only the web EMR then runs here. */
    public String sofa;
    public String catalog;
    public String idp;
    public String clientId = Jurisdiction.EMR_CLIENT_ID;
    public String clientSecret = Jurisdiction.EMR_SECRET;
    public String scopes = Jurisdiction.EMR_SCOPES;
    /** memory (default) or postgres. */
    public String store = "memory";
    /** With --store postgres: an existing database instead of an embedded one. */
    public String jdbcUrl;

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
          case "--sofa": o.sofa = args[++i]; break;
          case "--catalog": o.catalog = args[++i]; break;
          case "--idp": o.idp = args[++i]; break;
          case "--client-id": o.clientId = args[++i]; break;
          case "--client-secret": {
            String v = args[++i];
            o.clientSecret = v.equals("none") ? null : v;
            break;
          }
          case "--scopes": o.scopes = args[++i].replace(',', ' '); break;
          case "--store": o.store = args[++i]; break;
          case "--jdbc-url": o.jdbcUrl = args[++i]; o.store = "postgres"; break;
          case "": break;
          default:
            throw new IllegalArgumentException("unknown option " + args[i] + "; use --serve,"
                + " --host H, --port N, --store memory|postgres, --jdbc-url URL, and with --serve: --sofa URL --catalog URL --idp URL"
                + " --client-id ID --client-secret S|none --scopes a,b,c");
        }
      }
      if (!o.store.equals("memory") && !o.store.equals("postgres")) {
        throw new IllegalArgumentException("--store is memory or postgres, not " + o.store);
      }
      if (o.sofa != null && !o.serve) {
        throw new IllegalArgumentException("--sofa (an external SoFA) goes with --serve");
      }
      if (o.port < 0) {
        o.port = o.serve ? 8080 : 0;
      }
      return o;
    }
  }
}
