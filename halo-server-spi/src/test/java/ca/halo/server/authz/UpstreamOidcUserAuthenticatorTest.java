package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloException;
import ca.halo.core.SmartScopes;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.sofa.SofaServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SoFA's authorization server signing a clinician in through an upstream OpenID provider
 * (here a second, independent authorization server on loopback), as a relying party with code +
 * PKCE, over real HTTP redirects.
 */
class UpstreamOidcUserAuthenticatorTest {
  private TestSofa upstream;
  private SofaServer sofa;
  private final InMemoryClientRegistry clients = new InMemoryClientRegistry();

  @BeforeEach
  void start() throws Exception {
    upstream = new TestSofa();
    UpstreamOidcUserAuthenticator users = UpstreamOidcUserAuthenticator.builder(
            upstream.server.authorizationServer().issuer(), "sofa-rp", "sofa-rp-secret-0123456789")
        .scope("openid fhirUser")
        .authorizeParameter("aud", upstream.fhirBase().toString())
        .fhirUserMapper(claims -> {
          String f = (String) claims.get("fhirUser");
          return f == null ? null : f.substring(f.indexOf("/fhir/") + 6);
        })
        .build();
    clients.register(RegisteredClient.builder("emr").type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC)
        .secret(TestSofa.EMR_SECRET).redirectUri(TestSofa.EMR_REDIRECT)
        .allowedScopes(SmartScopes.parse("openid fhirUser user/Context.write")).build());
    sofa = SofaServer.builder().clients(clients).users(users).build().start();
    upstream.clients.register(RegisteredClient.builder("sofa-rp")
        .type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret("sofa-rp-secret-0123456789")
        .redirectUri(sofa.authorizationServer().signInEndpoint())
        .allowedScopes(SmartScopes.parse("openid fhirUser")).build());
  }

  @AfterEach
  void stop() {
    sofa.close();
    upstream.close();
  }

  @Test
  void signIn_throughUpstreamProvider_fhirUserMapped() throws Exception {
    Browser b = new Browser();
    String[] pkce = Browser.pkce();
    URI authorize = URI.create(sofa.authorizationServer().authorizationEndpoint() + "?" + Browser.form(Map.of(
        "response_type", "code", "client_id", "emr", "redirect_uri", TestSofa.EMR_REDIRECT.toString(),
        "scope", "openid fhirUser user/Context.write", "state", "s1", "aud", sofa.fhirBase().toString(),
        "code_challenge", pkce[1], "code_challenge_method", "S256", "nonce", "n1")));
    HttpResponse<String> r = b.get(authorize);
    assertThat(r.statusCode()).isEqualTo(302);
    URI toUpstream = Browser.location(r);
    assertThat(toUpstream.toString()).startsWith(upstream.server.authorizationServer().authorizationEndpoint().toString());
    assertThat(Browser.query(toUpstream)).containsEntry("code_challenge_method", "S256").containsKey("nonce");
    // the upstream provider's own sign-in form
    HttpResponse<String> back = b.signIn(toUpstream, "dr.tremblay", "password");
    URI toSofa = Browser.location(back);
    assertThat(toSofa.toString()).startsWith(sofa.authorizationServer().signInEndpoint().toString());
    URI toEmr = Browser.location(b.get(toSofa));
    Map<String, String> cb = Browser.query(toEmr);
    assertThat(cb).containsEntry("state", "s1").containsKey("code");
    HttpResponse<String> t = b.postForm(sofa.authorizationServer().tokenEndpoint(), Map.of(
        "grant_type", "authorization_code", "code", cb.get("code"), "redirect_uri",
        TestSofa.EMR_REDIRECT.toString(), "code_verifier", pkce[0]), TestSofa.basic("emr", TestSofa.EMR_SECRET));
    JsonNode tok = TestSofa.json(t.body());
    SignedJWT id = SignedJWT.parse(tok.get("id_token").asText());
    assertThat(id.getJWTClaimsSet().getSubject()).isEqualTo("dr.tremblay");
    assertThat(id.getJWTClaimsSet().getStringClaim("fhirUser")).isEqualTo(sofa.fhirBase() + "/Practitioner/dr-1");
  }

  @Test
  void callback_withUnknownState_refusedWithoutCode() throws Exception {
    HttpResponse<String> r = new Browser().get(URI.create(sofa.authorizationServer().signInEndpoint()
        + "?code=forged&state=not-an-interaction"));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.headers().firstValue("Location")).isEmpty();
  }

  @Test
  void build_unreachableProvider_failsClearly() {
    assertThatThrownBy(() -> UpstreamOidcUserAuthenticator.builder(URI.create("http://127.0.0.1:1/realms/x"),
            "c", "s").build())
        .isInstanceOf(HaloException.class);
  }
}
