package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.SmartScopes;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Item 8: {@code Context} scopes are granted only by an exact allowed scope, never a wildcard. */
class ContextScopeTest {
  private static final URI WILD_REDIRECT = URI.create("http://localhost:9/wild/callback");
  private static final String OPS_SECRET = "ops-secret-0123456789";
  private TestSofa sofa;
  private final Browser browser = new Browser();

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa();
    sofa.clients.register(RegisteredClient.builder("wild").redirectUri(WILD_REDIRECT)
        .allowedScopes(SmartScopes.parse("openid user/*.cruds system/*.cruds")).build());
    sofa.clients.register(RegisteredClient.builder("ops").type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC)
        .secret(OPS_SECRET).allowedScopes(SmartScopes.parse("system/*.rs system/Context.admin system/Context.write")).build());
    sofa.clients.register(RegisteredClient.builder("wild-backend")
        .type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret(OPS_SECRET)
        .allowedScopes(SmartScopes.parse("system/*.cruds")).build());
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  private HttpResponse<String> clientCredentials(String client, String scope) throws Exception {
    return browser.postForm(sofa.token(), Map.of("grant_type", "client_credentials", "scope", scope),
        TestSofa.basic(client, OPS_SECRET));
  }

  @Test
  void authorize_wildcardClient_neverGrantedContextScopes_item8() throws Exception {
    Browser.Authz a = browser.authorize(sofa.authorize(), Map.of("client_id", "wild",
        "redirect_uri", WILD_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
        "scope", "user/*.cruds user/Context.write user/Context.admin"), "dr.tremblay", "password");
    HttpResponse<String> t = browser.postForm(sofa.token(), Map.of("grant_type", "authorization_code",
        "code", a.callback().get("code"), "redirect_uri", WILD_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "wild"), null);
    JsonNode tok = TestSofa.json(t.body());
    assertThat(tok.get("scope").asText()).isEqualTo("user/*.cruds");
    assertThatThrownBy(() -> sofa.fhir(tok.get("access_token").asText()).operation().onServer()
        .named("$set-context").withParameters(TestSofa.sixResourceContext(null)).execute())
        .isInstanceOf(ForbiddenOperationException.class);
    // client_credentials: a system/* wildcard does not reach system/Context.* either
    HttpResponse<String> cc = clientCredentials("wild-backend", "system/*.cruds system/Context.write");
    assertThat(TestSofa.json(cc.body()).get("scope").asText()).isEqualTo("system/*.cruds");
  }

  @Test
  void clientCredentials_exactContextScopes_grantedAndAdminWorks_item8() throws Exception {
    HttpResponse<String> r = clientCredentials("ops",
        "system/*.rs system/Context.admin system/Context.write user/Context.write");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode tok = TestSofa.json(r.body());
    assertThat(tok.get("scope").asText()).isEqualTo("system/*.rs system/Context.admin system/Context.write");
    String ops = tok.get("access_token").asText();
    HttpResponse<String> in = browser.postForm(sofa.server.authorizationServer().introspectionEndpoint(),
        Map.of("token", ops), TestSofa.basic("emr", TestSofa.EMR_SECRET));
    assertThat(TestSofa.json(in.body()).get("scope").asText())
        .isEqualTo("system/*.rs system/Context.admin system/Context.write");
    // the admin clears a context someone else set
    String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
    String launch = TestSofa.launchId(sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext(null)).execute());
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(new StringType(launch));
    assertThat(sofa.fhir(ops).operation().onServer().named("$clear-context").withParameters(clear)
        .execute().getParameter("outcome")).isNotNull();
    assertThat(sofa.server.contexts().size()).isZero();
  }
}
