package ca.halo.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.sofaserver.SofaApplication;
import ca.halo.sofaserver.config.SofaConfigLoader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kit's {@code sofa} target against {@code halo-sofa-server}, started from its sample configuration. */
class SofaServerConformanceTest {
  @Test
  void sofaTarget_againstHaloSofaServer_everyCheckPasses() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String base = "http://127.0.0.1:" + port;
    try (SofaApplication app = SofaApplication.start(SofaConfigLoader.load(
        Path.of("../halo-sofa-server/config/sofa.yaml"), Map.of("HALO_SERVER_HOST", "127.0.0.1",
            "HALO_SERVER_PORT", Integer.toString(port), "HALO_SERVER_PUBLIC_BASE_URL", base)))) {
      SofaTarget t = SofaTarget.builder(URI.create(base + "/fhir")).catalogBase(URI.create(base + "/catalog"))
          .emrClient("sandbox-emr", "sandbox-emr-secret-change-me", URI.create("http://localhost:8080/emr/callback"))
          .signIn("clinician", "halo-sandbox").secondSignIn("clinician2", "halo-sandbox-2")
          .appClient("growth-chart", URI.create("http://localhost:9000/apps/growth-chart/callback"))
          .hookHost("127.0.0.1")
          .build();
      ConformanceReport r = ConformanceKit.checkSofa(t, x -> { });
      r.writeHtml(Path.of("target", "conformance", "halo-sofa-server", "report.html"));
      assertThat(r.results()).hasSizeGreaterThan(40);
      assertThat(SandboxConformanceTest.failures(r)).as("checks that did not pass").isEmpty();
    }
  }
}
