package ca.halo.conformance.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.conformance.CheckResult;
import ca.halo.conformance.ConformanceKit;
import ca.halo.conformance.ConformanceReport;
import ca.halo.conformance.Outcome;
import ca.halo.conformance.Rule;
import ca.halo.conformance.SofaTarget;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kit against a hostile server under test (the attacker's review of the kit): it neither
 * hangs, nor fills its heap, nor sends the operator's credentials elsewhere, nor shows them in a
 * report, nor lets server text drive the terminal.
 */
class HostileServerTest {
  private static final String PASSWORD = "Sup3r-S3cret-PW";
  private static final String SECRET = "emr-secret-0123456789";
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
  private final List<String> elsewhere = new CopyOnWriteArrayList<>();
  @TempDir
  Path dir;

  @AfterEach
  void stop() {
    servers.forEach(s -> s.stop(0));
  }

  private HttpServer server(String host) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(host, 0), 16);
    s.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    s.start();
    servers.add(s);
    return s;
  }

  private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", type);
    ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(b);
    }
  }

  /** A SoFA whose token endpoint and sign-in form point at another origin, and whose errors echo secrets. */
  @Test
  void hostileSofa_credentialsStayHome_andNeverAppearInReports() throws Exception {
    HttpServer other = server("127.0.0.2");
    other.createContext("/", ex -> {
      elsewhere.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("Authorization")
          + " " + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      send(ex, 200, "text/plain", "db_password=hunter2");
    });
    String away = "http://127.0.0.2:" + other.getAddress().getPort();
    HttpServer sofa = server("127.0.0.1");
    String base = "http://127.0.0.1:" + sofa.getAddress().getPort();
    sofa.createContext("/fhir/.well-known/smart-configuration", ex -> send(ex, 200, "application/json",
        "{\"token_endpoint\":\"" + away + "/token\",\"authorization_endpoint\":\"" + base + "/authorize\","
            + "\"grant_types_supported\":[\"authorization_code\"],\"capabilities\":[\"launch-ehr\"],"
            + "\"code_challenge_methods_supported\":[\"S256\"],\"introspection_endpoint\":\"" + away + "/introspect\"}"));
    // the sign-in form names its password field pwd, and posts it to another origin; errors echo what they got
    sofa.createContext("/authorize", ex -> send(ex, 200, "text/html", "<html><form method=post action=\"" + away
        + "/login\"><input name=user type=text><input name=pwd type=password></form></html>"));
    sofa.createContext("/fhir", ex -> send(ex, 400, "application/fhir+json",
        "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"diagnostics\":\"you sent " + PASSWORD + " and " + SECRET
            + " and \u001b[8mhidden\"}]}"));
    SofaTarget t = SofaTarget.builder(URI.create(base + "/fhir")).emrClient("emr", SECRET, URI.create(base + "/cb"))
        .signIn("clinician", PASSWORD).appClient("app", URI.create(base + "/app-cb")).build();
    ConformanceReport r = ConformanceKit.checkSofa(t, x -> { });
    r.writeHtml(dir.resolve("report.html"));
    r.writeJUnitXml(dir.resolve("junit.xml"));
    assertThat(elsewhere).as("requests that reached the other origin").isEmpty();
    CheckResult signIn = r.result("sofa.authz.sign-in").orElseThrow();
    assertThat(signIn.outcome()).isEqualTo(Outcome.FAIL);
    assertThat(signIn.message()).contains("outside the origins the kit trusts");
    for (String f : List.of("report.html", "junit.xml")) {
      String text = Files.readString(dir.resolve(f));
      assertThat(text).as(f).doesNotContain(PASSWORD, SECRET, "hunter2", "\u001b");
    }
    // still parseable XML
    DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(dir.resolve("junit.xml").toFile());
    for (CheckResult c : r.results()) {
      assertThat(ca.halo.conformance.internal.Reports.line(c)).doesNotContain("\u001b", PASSWORD, SECRET);
    }
  }

  @Test
  void slowOrHugeAnswers_failTheCheck_withinTheDeadline() throws Exception {
    HttpServer s = server("127.0.0.1");
    s.createContext("/slow", ex -> {
      ex.sendResponseHeaders(200, 1_000_000);
      try (OutputStream o = ex.getResponseBody()) {
        for (int i = 0; i < 1000; i++) {
          o.write('x');
          o.flush();
          Thread.sleep(5_000);
        }
      } catch (InterruptedException | IOException e) {
        // the kit went away
      }
    });
    s.createContext("/huge", ex -> {
      ex.sendResponseHeaders(200, 0);
      try (OutputStream o = ex.getResponseBody()) {
        byte[] mb = new byte[1 << 20];
        for (int i = 0; i < 64; i++) {
          o.write(mb);
        }
      } catch (IOException e) {
        // the kit went away
      }
    });
    String base = "http://127.0.0.1:" + s.getAddress().getPort();
    Instant start = Instant.now();
    assertThatThrownBy(() -> Http.plain().get(URI.create(base + "/slow"))).isInstanceOf(CheckFailure.class)
        .hasMessageContaining("no whole answer within");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(30));
    assertThatThrownBy(() -> Http.plain().get(URI.create(base + "/huge"))).isInstanceOf(CheckFailure.class)
        .hasMessageContaining("larger than 2 MiB");
  }

  @Test
  void signInPageBuiltToBacktrack_isReadInLinearTime() throws Exception {
    HttpServer s = server("127.0.0.1");
    String page = "<form a>".repeat(200_000);
    s.createContext("/authorize", ex -> send(ex, 200, "text/html", page));
    String base = "http://127.0.0.1:" + s.getAddress().getPort();
    Browser b = new Browser("u", "p", new Trust(URI.create(base), List.of()));
    long t0 = System.nanoTime();
    Browser.Outcome o = b.authorize(URI.create(base + "/authorize"), base + "/cb");
    assertThat(o.redirect).isNull();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void consoleLine_showsNoControlCharacters() {
    CheckResult c = new CheckResult("x.y", "t", Rule.of("r", "s"), Outcome.FAIL, "fhirVersion \u001b[2K\rPASS \u001b[8m",
        List.of(), Duration.ZERO);
    assertThat(Reports.line(c)).doesNotContain("\u001b", "\r");
  }

  @Test
  void junitXml_staysParseable_withCharactersXmlForbids() throws Exception {
    CheckResult c = new CheckResult("x.y", "t", Rule.of("r", "s"), Outcome.FAIL, "bad \uFFFF \uD800 end",
        List.of("\u0001"), Duration.ZERO);
    ConformanceReport r = new ConformanceReport("sofa", "http://x", Instant.now(), List.of(c));
    r.writeJUnitXml(dir.resolve("j.xml"));
    DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("j.xml"))));
  }
}
