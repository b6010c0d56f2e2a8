package ca.halo.examples.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.RegisteredClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.CookieManager;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The web EMR alone (--serve --sofa ...), pointed at a jurisdiction running elsewhere. */
class ExternalEmrTest {
  @Test
  void webEmr_pointedAtExternalSofa_signsInAndLaunches() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> { })) {
      URI emrBase = URI.create("http://127.0.0.1:" + port);
      j.clients.register(RegisteredClient.builder("external-emr").type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC)
          .secret("external-emr-secret-123").redirectUri(URI.create(emrBase + "/emr/callback"))
          .allowedScopes(SmartScopes.parse(Jurisdiction.EMR_SCOPES)).build());
      HaloSandbox.Options o = HaloSandbox.Options.parse(new String[] {"--serve", "--port", Integer.toString(port),
          "--sofa", j.sofa.fhirBase().toString(), "--catalog", j.sofa.catalogBase().toString(),
          "--client-id", "external-emr", "--client-secret", "external-emr-secret-123"});
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      org.eclipse.jetty.server.Server jetty = Serve.startExternal(o, new PrintStream(printed, true));
      try {
        HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
            .followRedirects(HttpClient.Redirect.NEVER).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(emrBase + "/emr/")).build(),
            HttpResponse.BodyHandlers.ofString());
        URI authorize = URI.create(r.headers().firstValue("Location").orElseThrow());
        assertThat(authorize.toString()).startsWith(j.sofa.authorizationServer().authorizationEndpoint().toString());
        URI callback = new HeadlessBrowser().authorize(authorize, Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
        assertThat(callback.toString()).startsWith(emrBase + "/emr/callback");
        r = http.send(HttpRequest.newBuilder(callback).build(), HttpResponse.BodyHandlers.ofString());
        r = http.send(HttpRequest.newBuilder(URI.create(r.headers().firstValue("Location").orElseThrow())).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).contains("id=\"launch-growth-chart\"").contains("Élodie Bouchard");
        // the Launch form as the page has it (with its CSRF token)
        String form = SandboxBrowser.encode(SandboxBrowser.form(r.body(), "/emr/launch",
            java.util.Map.of("app", "growth-chart")));
        r = http.send(HttpRequest.newBuilder(URI.create(emrBase + "/emr/launch"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(302);
        String launchUrl = r.headers().firstValue("Location").orElseThrow();
        Matcher m = Pattern.compile("iss=([^&]+)").matcher(launchUrl);
        assertThat(m.find()).isTrue();
        assertThat(java.net.URLDecoder.decode(m.group(1), java.nio.charset.StandardCharsets.UTF_8))
            .isEqualTo(j.sofa.fhirBase().toString());
        assertThat(j.sofa.contexts().size()).isEqualTo(1);
        assertThat(printed.toString()).contains("/emr/callback").contains("external-emr");
      } finally {
        jetty.stop();
      }
    }
  }
}
