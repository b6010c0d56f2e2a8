package ca.halo.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.examples.sandbox.Jurisdiction;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: exit codes, the printed summary and the two report files. */
class ConformanceMainTest {
  @TempDir
  Path dir;

  private static String[] run(String... args) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int code = ConformanceMain.run(new PrintStream(b, true, StandardCharsets.UTF_8), args);
    return new String[] {Integer.toString(code), b.toString(StandardCharsets.UTF_8)};
  }

  @Test
  void sofa_againstTheSandbox_exits0AndWritesBothReports() throws Exception {
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> { })) {
      String[] r = run("sofa", "--fhir-base", j.sofa.fhirBase().toString(), "--catalog", j.sofa.catalogBase().toString(),
          "--emr-client", Jurisdiction.EMR_CLIENT_ID, "--emr-secret", Jurisdiction.EMR_SECRET,
          "--emr-redirect", j.emrRedirect.toString(), "--user", Jurisdiction.CLINICIAN,
          "--password", Jurisdiction.CLINICIAN_PASSWORD, "--app-client", "growth-chart",
          "--app-redirect", j.sofa.baseUrl() + "/apps/growth-chart/callback", "--report-dir", dir.toString());
      assertThat(r[0]).as(r[1]).isEqualTo("0");
      assertThat(r[1]).contains("PASS sofa.discovery.served", "0 failed");
      assertThat(Files.readString(dir.resolve("report.html"))).contains("<h1>HALO conformance report: sofa</h1>");
      assertThat(Files.readString(dir.resolve("junit.xml"))).contains("failures=\"0\"");
      // without a second clinician and a hook host, those checks say why they were skipped
      assertThat(r[1]).contains("SKIP sofa.clear-context.foreign", "no second test sign-in given");
    }
  }

  @Test
  void catalog_nothingListening_exits1WithTheFailureAndItsRule() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String[] r = run("catalog", "--catalog", "http://127.0.0.1:" + port + "/catalog", "--report-dir", dir.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[1]).contains("FAIL catalog.list", "got no answer", "HALO CA:AC-1");
    assertThat(Files.readString(dir.resolve("junit.xml"))).contains("<failure message=");
  }

  @Test
  void missingRequiredOption_exits2WithUsage() {
    String[] r = run("sofa", "--fhir-base", "http://127.0.0.1:1/fhir");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("Missing required options");
    assertThat(run("no-such-target")[0]).isEqualTo("2");
  }
}
