package ca.halo.examples.bench;

import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.examples.sandbox.HeadlessBrowser;
import ca.halo.examples.sandbox.Jurisdiction;
import ca.halo.examples.sandbox.SampleChart;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SofaClient;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

/**
 * The {@code first-call} part: from {@code java} to the first answer, each in a fresh JVM, five
 * times each, alternating. One JVM is a plain main that sends a 6-resource {@code $set-context}
 * with {@link SofaClient} to a running SoFA; the other sends the same six resources as a
 * transaction with HAPI's own generic client ({@code FhirContext.forR4()}, as HAPI's documentation
 * starts) to a loopback stand-in that answers at once, so that only the client's start-up counts.
 */
final class FirstCallBench {
  private FirstCallBench() {}

  static void run() throws Exception {
    System.out.println("\nJVM start to first answer, a fresh JVM per run (median of 5, alternating):");
    com.sun.net.httpserver.HttpServer standIn = transactionStandIn();
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> b.subscriptions(false));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = HaloBench.emrClient(j, http)) {
      TokenSet t = HaloBench.login(j, emr, new HeadlessBrowser());
      String hapiBase = "http://127.0.0.1:" + standIn.getAddress().getPort() + "/fhir";
      long[] sofa = new long[5];
      long[] hapi = new long[5];
      for (int i = 0; i < 5; i++) {
        sofa[i] = child(SofaMain.class, j.sofa.fhirBase().toString(), t.accessToken().value());
        hapi[i] = child(HapiMain.class, hapiBase, "");
      }
      Arrays.sort(sofa);
      Arrays.sort(hapi);
      System.out.printf("  SofaClient, first $set-context (6 resources):      median %5d ms  (min %d, max %d)%n",
          sofa[2], sofa[0], sofa[4]);
      System.out.printf("  HAPI generic client, first transaction (6):        median %5d ms  (min %d, max %d)%n",
          hapi[2], hapi[0], hapi[4]);
      HaloBench.TARGETS.against("JVM start -> first $set-context (SofaClient) vs HAPI client's first transaction",
          sofa[2], hapi[2], Double.NaN, "<=", 0.5, "ms");
      HaloBench.TARGETS.absolute("JVM start -> first $set-context (SofaClient), ms", sofa[2], "<", 1500);
    } finally {
      standIn.stop(0);
    }
  }

  /** Milliseconds from starting the JVM to its line "DONE". */
  private static long child(Class<?> main, String base, String token) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", main.getName(), base))
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().put("BENCH_TOKEN", token);
    long t0 = System.nanoTime();
    Process p = pb.start();
    long done = -1;
    List<String> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        out.add(line);
        if (line.equals("DONE") && done < 0) {
          done = (System.nanoTime() - t0) / 1_000_000;
        }
      }
    }
    if (p.waitFor() != 0 || done < 0) {
      throw new IllegalStateException(main.getSimpleName() + " failed: " + out);
    }
    return done;
  }

  /** Answers every POST with a 6-entry transaction-response. */
  private static com.sun.net.httpserver.HttpServer transactionStandIn() throws Exception {
    Bundle answer = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
    for (Resource r : six()) {
      answer.addEntry().getResponse().setStatus("201 Created")
          .setLocation(r.fhirType() + "/" + r.getIdElement().getIdPart() + "/_history/1");
    }
    byte[] body = FhirContext.forR4Cached().newJsonParser().encodeResourceToString(answer)
        .getBytes(StandardCharsets.UTF_8);
    com.sun.net.httpserver.HttpServer s = com.sun.net.httpserver.HttpServer.create(
        new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", x -> {
      x.getRequestBody().readAllBytes();
      x.getResponseHeaders().add("Content-Type", "application/fhir+json");
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    s.start();
    return s;
  }

  static List<Resource> six() {
    SampleChart c = new SampleChart();
    return List.of(c.patient, c.encounter, c.practitioner, c.condition, c.height, c.allergy);
  }

  /** A plain EMR main: one $set-context with SofaClient. */
  public static final class SofaMain {
    private SofaMain() {}

    public static void main(String[] args) {
      try (HaloHttp http = HaloHttp.defaults()) {
        SofaClient sofa = SofaClient.builder().http(http).fhirBase(URI.create(args[0]))
            .tokens(AccessTokenProvider.fixed(ca.halo.core.auth.AccessToken.withoutExpiry(System.getenv("BENCH_TOKEN")))).build();
        String launch = sofa.setContext(HaloBench.sixResources()).launchId();
        System.out.println(launch.isEmpty() ? "NO LAUNCH" : "DONE");
      }
      System.exit(0);
    }
  }

  /** The same six resources as a transaction with HAPI's generic client. */
  public static final class HapiMain {
    private HapiMain() {}

    public static void main(String[] args) {
      FhirContext ctx = FhirContext.forR4();
      ctx.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
      IGenericClient client = ctx.newRestfulGenericClient(args[0]);
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      for (Resource r : six()) {
        tx.addEntry().setFullUrl("urn:uuid:" + java.util.UUID.randomUUID()).setResource(r)
            .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl(r.fhirType());
      }
      Bundle out = client.transaction().withBundle(tx).execute();
      System.out.println(out.getEntry().size() == 6 ? "DONE" : "SHORT ANSWER");
      System.exit(0);
    }
  }
}
