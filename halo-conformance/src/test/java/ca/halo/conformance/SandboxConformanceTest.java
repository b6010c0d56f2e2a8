package ca.halo.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.examples.sandbox.Jurisdiction;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The kit's {@code sofa} target against the sandbox's jurisdiction, over real HTTP on loopback. */
class SandboxConformanceTest {
  static SofaTarget target(Jurisdiction j) {
    return SofaTarget.builder(j.sofa.fhirBase()).catalogBase(j.sofa.catalogBase())
        .emrClient(Jurisdiction.EMR_CLIENT_ID, Jurisdiction.EMR_SECRET, j.emrRedirect)
        .signIn(Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD)
        .secondSignIn(Jurisdiction.CLINICIAN2, Jurisdiction.CLINICIAN2_PASSWORD)
        .appClient("growth-chart", URI.create(j.sofa.baseUrl() + "/apps/growth-chart/callback"))
        .hookHost("127.0.0.1")
        .build();
  }

  static String failures(ConformanceReport r) {
    return r.results().stream().filter(x -> x.outcome() != Outcome.PASS)
        .map(x -> x + "\n    " + String.join("\n    ", x.exchanges()))
        .collect(Collectors.joining("\n"));
  }

  @Test
  void sofaTarget_againstTheSandbox_everyCheckPasses() throws Exception {
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> { })) {
      ConformanceReport r = ConformanceKit.checkSofa(target(j), x -> { });
      Path dir = Path.of("target", "conformance", "sandbox");
      r.writeHtml(dir.resolve("report.html"));
      r.writeJUnitXml(dir.resolve("junit.xml"));
      assertThat(r.results()).as("checks run").hasSizeGreaterThan(40);
      assertThat(failures(r)).as("checks that did not pass").isEmpty();
      // nothing of the run is left on the SoFA
      assertThat(j.sofa.contexts().size()).isZero();
      String html = Files.readString(dir.resolve("report.html"));
      assertThat(html).contains("sofa.authz.pkce-plain-refused", "RFC 7636 §4.2").doesNotContain(Jurisdiction.EMR_SECRET);
      assertThat(Files.readString(dir.resolve("junit.xml"))).contains("<testsuite name=\"halo-conformance.sofa\"",
          "failures=\"0\"");
    }
  }

  @Test
  void catalogTarget_againstTheSandbox_everyCheckPasses() {
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> { })) {
      ConformanceReport r = ConformanceKit.checkCatalog(j.sofa.catalogBase(), "growth-chart", x -> { });
      assertThat(failures(r)).isEmpty();
      assertThat(r.results().stream().map(CheckResult::id).collect(Collectors.toList()))
          .containsAll(List.of("catalog.list", "catalog.paging", "catalog.etag"));
    }
  }
}
