package ca.halo.server.fhir;

import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.fhir.ModelJson;
import ca.halo.server.internal.TransactionAnswers;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Scratch attack tests for 3d97c36 (to be deleted). Prints findings; asserts nothing hard. */
class ZzAttackForwardingTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private HttpServer server;
  private HaloHttp http;
  private volatile String body = "";
  private volatile String contentType = "application/fhir+json";
  private volatile byte[] lastRequest;
  private volatile String lastRequestType;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      lastRequest = ex.getRequestBody().readAllBytes();
      lastRequestType = ex.getRequestHeaders().getFirst("Content-Type");
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", contentType);
      ex.sendResponseHeaders(200, b.length == 0 ? -1 : b.length);
      if (b.length > 0) {
        ex.getResponseBody().write(b);
      }
      ex.close();
    });
    server.start();
    http = HaloHttp.defaults();
  }

  @AfterEach
  void stop() {
    server.stop(0);
    http.close();
  }

  private IGenericClient client() {
    return FhirClients.anonymousClient(CTX,
        URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/fhir"), http);
  }

  private static Bundle tx(String family) {
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    Patient p = new Patient();
    p.addName().setFamily(family);
    tx.addEntry().setFullUrl("urn:uuid:11111111-1111-4111-8111-111111111111").setResource(p)
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    return tx;
  }

  private static String answerWithScore(String prefix, int exponent) {
    return prefix + "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[{"
        + "\"search\":{\"score\":1E+" + exponent + "},"
        + "\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/1\"}}]}";
  }

  /** What happens, and in how long, when the SoFA forwards a transaction and gets {@code b}. */
  private String run(String ct, String b, boolean oldPath) {
    contentType = ct;
    body = b;
    long t0 = System.nanoTime();
    String what;
    try {
      Bundle out = oldPath ? client().transaction().withBundle(tx("A")).execute()
          : RemoteFhirRepository.builder(client()).build().transaction(tx("A"));
      what = "OK entries=" + out.getEntry().size() + " loc=" + out.getEntryFirstRep().getResponse().getLocation();
    } catch (RuntimeException e) {
      what = e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' ')
          .substring(0, Math.min(160, String.valueOf(e.getMessage()).length()));
    }
    return String.format("%-8s %5d ms  ct=%s  %s", oldPath ? "old" : "new",
        (System.nanoTime() - t0) / 1_000_000, ct, what);
  }

  /**
   * A leading form feed (Character.isWhitespace, which HAPI's JacksonStructure skips, but not JSON
   * whitespace) makes FhirJsonBodies.unsafe() call the body malformed, so it passes unscreened,
   * and HAPI then expands 1E+N into N digits and parses them back as a BigDecimal.
   */
  @Test
  void formFeedBypassesTheNumberScreen() {
    for (int n : new int[] {100_000, 200_000, 400_000}) {
      System.out.println("ATTACK screened  n=" + n + " " + run("application/fhir+json", answerWithScore("", n), false));
      System.out.println("ATTACK \\f json   n=" + n + " " + run("application/fhir+json", answerWithScore("\f", n), false));
      System.out.println("ATTACK \\f json   n=" + n + " " + run("application/fhir+json", answerWithScore("\f", n), true));
      System.out.println("ATTACK \\f text   n=" + n + " " + run("text/plain", answerWithScore("\f", n), false));
      System.out.println("ATTACK \\f text   n=" + n + " " + run("text/plain", answerWithScore("\f", n), true));
      System.out.println("ATTACK U+3000 xml n=" + n + " " + run("application/fhir+xml", answerWithScore("\u3000", n), false));
    }
  }

  /** Answers the fallback gets: which are typed (FhirRepositoryException), which leak text. */
  @Test
  void fallbackAnswers() {
    for (String[] c : List.of(
        new String[] {"text/html", "<html><body>secret internal page</body></html>"},
        new String[] {"text/plain", "secret internal text"},
        new String[] {"text/plain", ""},
        new String[] {"application/fhir+json", ""},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\","
            + "\"entry\":[{\"response\":{\"status\":\"201 Created\",\"location\":\"http://evil.example/fhir/Patient/9/_history/1\"}}]}"},
        new String[] {"application/fhir+xml", "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"transaction-response\"/>"
            + "<entry><response><status value=\"201 Created\"/><location value=\"Patient/7\"/></response></entry></Bundle>"},
        new String[] {"application/fhir+json", "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"transaction-response\"/>"
            + "<entry><response><status value=\"201 Created\"/><location value=\"Patient/7\"/></response></entry></Bundle>"},
        new String[] {"application/fhir+xml", "<!DOCTYPE Bundle [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
            + "<Bundle xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Bundle>"},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Patient\"}"},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Nope\"}"},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{}}]}"},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Bundle\",\"entry\":{\"response\":1}}"},
        new String[] {"application/fhir+json", "[]"},
        new String[] {"application/fhir+json", "x{"},
        new String[] {"application/fhir+json", "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\","
            + "\"entry\":[{\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/1\","
            + "\"outcome\":{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"bogus\"}]}}}]}"})) {
      System.out.println("FALLBACK " + run(c[0], c[1], false) + "   <- " + c[1].substring(0, Math.min(60, c[1].length())));
      System.out.println("FALLBACK " + run(c[0], c[1], true) + "   <- (old path)");
    }
  }

  /** Location strings: the reader keeps exactly what HAPI keeps. */
  @Test
  void locationsReadAsHapi() {
    for (String loc : List.of("Patient/1\\u0000", "Patient/1\\u00a0", "Patient/1\\u000b", "Patient\\/1",
        "\\u0050atient/1", "Patient/1\\ud800", "Patient/1\\u2028", "http://evil/Patient/1",
        "Patient/1/_history/2", "Observation/../Patient/1", "Patient/1\\u001f")) {
      String json = "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[{\"response\":"
          + "{\"status\":\"201 Created\",\"location\":\"" + loc + "\"}}]}";
      Bundle ours = TransactionAnswers.read(json, 1);
      Bundle hapi = CTX.newJsonParser().parseResource(Bundle.class, json);
      String a = ours == null ? null : ours.getEntryFirstRep().getResponse().getLocation();
      String b = hapi.getEntryFirstRep().getResponse().getLocation();
      System.out.println("LOCATION " + loc + " reader=" + (ours == null ? "null(fallback)" : "same=" + a.equals(b)));
    }
  }

  /** What reaches the server: ModelJson's bytes against HAPI's encoder, for odd strings. */
  @Test
  void whatIsSent() {
    for (String family : List.of("\uD800", "a\uD83D\uDE00b", "\u0000\u001f", "\u2028</script>", "é")) {
      Bundle t = tx(family);
      byte[] ours = ModelJson.write(t).orElseThrow();
      byte[] theirs = CTX.newJsonParser().encodeResourceToString(t).getBytes(StandardCharsets.UTF_8);
      Bundle ob = CTX.newJsonParser().parseResource(Bundle.class, new String(ours, StandardCharsets.UTF_8));
      Bundle tb = CTX.newJsonParser().parseResource(Bundle.class, new String(theirs, StandardCharsets.UTF_8));
      String of = ((Patient) ob.getEntryFirstRep().getResource()).getNameFirstRep().getFamily();
      String tf = ((Patient) tb.getEntryFirstRep().getResource()).getNameFirstRep().getFamily();
      System.out.println("SENT " + escape(family) + " modelJson->" + escape(of) + " hapi->" + escape(tf)
          + " same=" + of.equals(tf));
    }
    contentType = "application/fhir+json";
    body = "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[{\"response\":"
        + "{\"status\":\"201 Created\",\"location\":\"Patient/1\"}}]}";
    RemoteFhirRepository.builder(client()).build().transaction(tx("\uD800"));
    System.out.println("SENT new path Content-Type=" + lastRequestType + " body=" + new String(lastRequest, StandardCharsets.UTF_8));
    client().transaction().withBundle(tx("\uD800")).execute();
    System.out.println("SENT old path Content-Type=" + lastRequestType + " body=" + new String(lastRequest, StandardCharsets.UTF_8));
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c < 32 || c > 126 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.toString();
  }
}
