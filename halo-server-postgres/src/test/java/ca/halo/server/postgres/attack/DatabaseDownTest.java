package ca.halo.server.postgres.attack;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The database goes away (every connection ended, none accepted). The FHIR endpoint answers 503
 * (its bearer filter and repository translate the failure), but the OAuth endpoints do not:
 * {@code PostgresAuthorizationStateStore} and {@code PostgresLaunchContextStore} let the raw
 * {@code JdbiException} out, and Jetty's error page answers 500 with the exception's text (pool
 * name, driver and connection details) to an unauthenticated caller. Expected: 503
 * ({@code temporarily_unavailable}) with no exception text, as the security model requires
 * ("database-down behaviour must be 503, fail closed, no leaking exception text").
 */
class DatabaseDownTest {
  private AttackNode node;

  @BeforeEach
  void start() throws Exception {
    node = AttackNode.start(s -> { });
  }

  @AfterEach
  void stop() throws Exception {
    AttackNode.databaseUp(node.url());
    node.close();
  }

  private static void assertTypedUnavailable(HttpResponse<String> r) {
    assertThat(r.body()).doesNotContain("Exception").doesNotContain("jdbc")
        .doesNotContain("halo-postgres").doesNotContain("HikariPool")
        .doesNotContainIgnoringCase("connection");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
  }

  @Test
  void tokenEndpoint_refreshWhileDatabaseDown_is503WithoutExceptionText() throws Exception {
    Browser clinician = new Browser();
    String emr = node.sofa.emrToken(clinician, "dr.tremblay", "password");
    String launch = node.sofa.setContext(emr, "growth-chart");
    Browser.Authz authz = node.sofa.flows().authorizeApp(clinician, launch,
        "launch patient/*.rs offline_access");
    JsonNode t = node.sofa.flows().redeem(authz);
    String refresh = t.get("refresh_token").asText();

    AttackNode.databaseDown(node.url());
    HttpResponse<String> r = new Browser().postForm(node.sofa.token(), Map.of(
        "grant_type", "refresh_token", "refresh_token", refresh, "client_id", "app"), null);

    assertTypedUnavailable(r);
  }

  @Test
  void authorizeEndpoint_unauthenticatedWhileDatabaseDown_is503WithoutExceptionText()
      throws Exception {
    AttackNode.databaseDown(node.url());
    String[] pkce = Browser.pkce();
    String query = Browser.form(Map.of("client_id", "app", "response_type", "code",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "state", "s1",
        "code_challenge", pkce[1], "code_challenge_method", "S256",
        "scope", "launch patient/*.rs", "aud", node.sofa.fhirBase().toString(),
        "launch", "some-launch-id"));
    HttpResponse<String> r = new Browser().get(URI.create(node.sofa.authorize() + "?" + query));

    assertTypedUnavailable(r);
  }
}
