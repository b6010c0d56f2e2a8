package ca.halo.server;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;

/**
 * The HALO flows of the tests against a SoFA's public address, wherever it runs (this JVM,
 * another, behind a load balancer), with {@link TestSofa}'s clients and users.
 */
public final class SofaFlows {
  private final URI base;

  /** @param base the SoFA's public base ({@code http://host:port}) */
  public SofaFlows(URI base) {
    this.base = base;
  }

  public URI fhirBase() {
    return URI.create(base + "/fhir");
  }

  public URI authorize() {
    return URI.create(base + "/auth/authorize");
  }

  public URI token() {
    return URI.create(base + "/auth/token");
  }

  /** The EMR signs its user in (auth code + PKCE) and gets a token for $set-context. */
  public String emrToken(Browser browser, String user, String password) throws Exception {
    Browser.Authz a = browser.authorize(authorize(), Map.of("client_id", "emr",
        "redirect_uri", TestSofa.EMR_REDIRECT.toString(), "aud", fhirBase().toString(),
        "scope", "openid fhirUser user/Context.write user/*.rs"), user, password);
    String code = a.callback().get("code");
    if (code == null) {
      throw new IllegalStateException("EMR login failed: " + a.last.statusCode() + " "
          + a.last.headers().firstValue("Location").orElse(a.last.body()));
    }
    HttpResponse<String> t = browser.postForm(token(), Map.of("grant_type", "authorization_code",
        "code", code, "redirect_uri", TestSofa.EMR_REDIRECT.toString(), "code_verifier", a.verifier),
        TestSofa.basic("emr", TestSofa.EMR_SECRET));
    return TestSofa.json(t.body()).get("access_token").asText();
  }

  /** The sample app's /authorize for launch {@code launchId} with {@code scope}, signing in as dr.tremblay if asked. */
  public Browser.Authz authorizeApp(Browser browser, String launchId, String scope) throws Exception {
    return browser.authorize(authorize(), Map.of("client_id", "app",
        "redirect_uri", TestSofa.APP_REDIRECT.toString(), "aud", fhirBase().toString(),
        "launch", launchId, "scope", scope), "dr.tremblay", "password");
  }

  /** Redeems the app's code; returns the token response (must be 200). */
  public JsonNode redeem(Browser.Authz a) throws Exception {
    HttpResponse<String> t = new Browser().postForm(token(), Map.of("grant_type", "authorization_code",
        "code", a.callback().get("code"), "redirect_uri", TestSofa.APP_REDIRECT.toString(),
        "code_verifier", a.verifier, "client_id", "app"), null);
    if (t.statusCode() != 200) {
      throw new IllegalStateException("token refused: " + t.statusCode() + " " + t.body());
    }
    return TestSofa.json(t.body());
  }

  /** The sample app launches with {@code launchId} and gets an access token (patient scopes). */
  public String appToken(Browser browser, String launchId) throws Exception {
    return redeem(authorizeApp(browser, launchId, "launch patient/*.rs patient/Observation.cruds"))
        .get("access_token").asText();
  }

  /** {@code $set-context} with the six-resource context; returns the launch id. */
  public String setContext(String token, String appId) {
    return TestSofa.launchId(fhir(token).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext(appId)).execute());
  }

  /** {@code $clear-context}. */
  public void clearContext(String token, String launchId) {
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(new StringType(launchId));
    fhir(token).operation().onServer().named("$clear-context").withParameters(clear).execute();
  }

  public IGenericClient fhir(String token) {
    TestSofa.CTX.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
    IGenericClient c = TestSofa.CTX.newRestfulGenericClient(fhirBase().toString());
    if (token != null) {
      c.registerInterceptor(new BearerTokenAuthInterceptor(token));
    }
    return c;
  }
}
