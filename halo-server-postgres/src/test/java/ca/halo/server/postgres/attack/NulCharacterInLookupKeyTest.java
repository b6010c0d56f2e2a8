package ca.halo.server.postgres.attack;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A U+0000 in a value the PostgreSQL stores look a row up by (a launch id, the grant id part of a
 * refresh token, a search's {@code _id}) reaches the JDBC driver as a bound text parameter, which
 * PostgreSQL refuses ("invalid byte sequence for encoding UTF8: 0x00"). The stores let that
 * {@code JdbiException} escape: the caller gets a 500 whose body carries the SQL statement, the
 * table and column names and the bound arguments, on endpoints reachable without any token. The
 * in-memory stores answer these as "unknown" (no such launch, no such grant, no such resource).
 * Expected: the typed answer the in-memory store gives, and no SQL in any body.
 */
class NulCharacterInLookupKeyTest {
  private static AttackNode node;
  private static String emr;
  private static String app;

  @BeforeAll
  static void start() throws Exception {
    node = AttackNode.start(s -> { });
    emr = node.sofa.emrToken(new Browser(), "dr.tremblay", "password");
    app = node.sofa.appToken(new Browser(), node.sofa.setContext(emr, "growth-chart"));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static void assertNoInternals(HttpResponse<String> r) {
    assertThat(r.body()).doesNotContainIgnoringCase("statement")
        .doesNotContain("halo_").doesNotContain("PSQLException").doesNotContain("jdbi")
        .doesNotContain("fhir_resource").doesNotContain("SQL state");
  }

  /** Unauthenticated: /authorize with launch=a%00b (any registered client and redirect). */
  @Test
  void authorize_launchWithNul_isAnUnknownLaunchNotA500WithSql() throws Exception {
    String[] pkce = Browser.pkce();
    String query = Browser.form(Map.of("client_id", "app", "response_type", "code",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "state", "s1",
        "code_challenge", pkce[1], "code_challenge_method", "S256",
        "scope", "launch patient/*.rs", "aud", node.sofa.fhirBase().toString(),
        "launch", "a\u0000b"));
    HttpResponse<String> r = new Browser().get(URI.create(node.sofa.authorize() + "?" + query));

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(302); // error=invalid_request to the app
  }

  /** Unauthenticated (public client): a refresh token whose grant id part holds a NUL. */
  @Test
  void token_refreshTokenWithNul_isInvalidGrantNotA500WithSql() throws Exception {
    HttpResponse<String> r = new Browser().postForm(node.sofa.token(), Map.of(
        "grant_type", "refresh_token", "refresh_token", "a\u0000b.c", "client_id", "app"), null);

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(r.body()).contains("invalid_grant");
  }

  /** Unauthenticated (public client): RFC 7009 revocation of a refresh-token-shaped value. */
  @Test
  void revoke_refreshTokenWithNul_is200NotA500WithSql() throws Exception {
    HttpResponse<String> r = new Browser().postForm(
        URI.create(node.base + "/auth/revoke"), Map.of("token", "a\u0000b.c", "client_id", "app"),
        null);

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** The EMR's $clear-context with a launchID holding a NUL. */
  @Test
  void clearContext_launchIdWithNul_isTypedNotA500WithSql() throws Exception {
    HttpResponse<String> r = node.post("/fhir/$clear-context", emr, "application/fhir+json",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\","
            + "\"valueString\":\"a\\u0000b\"}]}");

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
  }

  /** An app's search by _id (or identifier) holding a NUL: no such resource, as in memory. */
  @Test
  void search_idWithNul_isAnEmptyBundleNotA500() throws Exception {
    HttpResponse<String> r = node.get("/fhir/Observation?_id="
        + URLEncoder.encode("a\u0000b", StandardCharsets.UTF_8), app);

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).contains("\"total\":0");
  }

  /** $set-context naming a patient reference with a NUL: a typed refusal, not a 500. */
  @Test
  void setContext_referenceWithNul_isTypedNotA500() throws Exception {
    HttpResponse<String> r = node.post("/fhir/$set-context", emr, "application/fhir+json",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"appID\",\"valueString\":"
            + "\"growth-chart\"},{\"name\":\"patient\",\"valueReference\":{\"reference\":"
            + "\"Patient/a\\u0000b\"}}]}");

    assertNoInternals(r);
    assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
  }
}
