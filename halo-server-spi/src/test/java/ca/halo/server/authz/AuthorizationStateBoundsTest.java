package ca.halo.server.authz;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestClock;
import ca.halo.server.TestSofa;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Item 6: the authorization server's state tables are bounded, cannot be filled from outside,
 * and fail closed when full (a refused write is never an accepted grant or a silent 200).
 */
class AuthorizationStateBoundsTest {
  private final TestClock clock = new TestClock(Instant.now());
  private TestSofa sofa;
  private final Browser browser = new Browser();

  @AfterEach
  void stop() {
    if (sofa != null) {
      sofa.close();
    }
  }

  private void start(int capacity) throws Exception {
    sofa = new TestSofa(b -> b.clock(clock).authorizationSettings(a -> a.capacity(capacity)));
  }

  /** A GET over a fresh connection from another loopback address (another "client machine"). */
  private static int getFrom(String localAddress, URI uri) throws Exception {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(localAddress, 0));
      s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5000);
      s.setSoTimeout(10_000);
      String req = "GET " + uri.getRawPath() + "?" + uri.getRawQuery() + " HTTP/1.1\r\nHost: "
          + uri.getRawAuthority() + "\r\nConnection: close\r\n\r\n";
      s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
      String status = new BufferedReader(new InputStreamReader(s.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      return Integer.parseInt(status.split(" ")[1]);
    }
  }

  private URI otherAppAuthorize() {
    return URI.create(sofa.authorize() + "?" + Browser.form(Map.of("response_type", "code",
        "client_id", "other-app", "redirect_uri", "http://localhost:9/other/callback",
        "aud", sofa.fhirBase().toString(), "scope", "patient/*.rs", "state", "flood",
        "code_challenge", Browser.pkce()[1], "code_challenge_method", "S256")));
  }

  @Test
  void authorize_floodFromOneAddress_boundedAndOthersStillSignIn_item6() throws Exception {
    start(300);
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 350; i++) {
      int status = getFrom("127.0.0.2", otherAppAuthorize());
      if (status == 200) {
        accepted++;
      } else {
        assertThat(status).isIn(429, 503);
        refused++;
      }
    }
    assertThat(accepted).isLessThanOrEqualTo(100);
    assertThat(refused).isGreaterThanOrEqualTo(250);
    // a clinician elsewhere still signs in
    assertThat(sofa.emrToken(new Browser(), "dr.tremblay", "password")).isNotBlank();
    // and the flood's sign-ins expire quickly: the address may start again after five minutes
    clock.advance(Duration.ofMinutes(5).plusSeconds(1));
    assertThat(getFrom("127.0.0.2", otherAppAuthorize())).isEqualTo(200);
  }

  private HttpResponse<String> clientCredentials() throws Exception {
    return browser.postForm(sofa.token(), Map.of("grant_type", "client_credentials", "scope",
        "user/*.rs"), TestSofa.basic("emr", TestSofa.EMR_SECRET));
  }

  private boolean active(String token) throws Exception {
    HttpResponse<String> r = browser.postForm(sofa.server.authorizationServer().introspectionEndpoint(),
        Map.of("token", token), TestSofa.basic("emr", TestSofa.EMR_SECRET));
    return TestSofa.json(r.body()).get("active").asBoolean();
  }

  private static void temporarilyUnavailable(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(TestSofa.json(r.body()).get("error").asText()).isEqualTo("temporarily_unavailable");
  }

  @Test
  void revoke_whenRevocationsCannotBeRecorded_answers503NeverAnEmpty200_item6() throws Exception {
    start(20);
    boolean refused = false;
    for (int i = 0; i < 100 && !refused; i++) {
      HttpResponse<String> t = clientCredentials();
      assertThat(t.statusCode()).isEqualTo(200);
      String at = TestSofa.json(t.body()).get("access_token").asText();
      HttpResponse<String> r = browser.postForm(sofa.server.authorizationServer().revocationEndpoint(),
          Map.of("token", at), TestSofa.basic("emr", TestSofa.EMR_SECRET));
      if (r.statusCode() == 200) {
        assertThat(active(at)).as("token %d answered 200 to revoke", i).isFalse();
      } else {
        temporarilyUnavailable(r);
        refused = true;
      }
    }
    assertThat(refused).isTrue();
  }

  private String assertion(String jti) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES384).keyID("backend-1").build(),
        new JWTClaimsSet.Builder().issuer("backend").subject("backend").audience(sofa.token().toString())
            .expirationTime(Date.from(clock.instant().plusSeconds(240))).jwtID(jti).build());
    jwt.sign(new ECDSASigner(sofa.backendKey));
    return jwt.serialize();
  }

  private HttpResponse<String> backendToken(String assertion) throws Exception {
    return browser.postForm(sofa.token(), Map.of("grant_type", "client_credentials",
        "scope", "system/*.rs",
        "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion", assertion), null);
  }

  @Test
  void privateKeyJwt_whenJtiTableFull_refusedAndNeverReplayed_item6() throws Exception {
    start(20);
    boolean refused = false;
    for (int i = 0; i < 60 && !refused; i++) {
      String a = assertion(UUID.randomUUID().toString());
      HttpResponse<String> first = backendToken(a);
      HttpResponse<String> replay = backendToken(a);
      assertThat(replay.statusCode()).as("replay of assertion %d", i).isNotEqualTo(200);
      if (first.statusCode() != 200) {
        temporarilyUnavailable(first);
        refused = true;
      }
    }
    assertThat(refused).isTrue();
    // the table drains as the assertions expire
    clock.advance(Duration.ofMinutes(6));
    assertThat(backendToken(assertion(UUID.randomUUID().toString())).statusCode()).isEqualTo(200);
  }

  @Test
  void token_whenGrantTableFull_temporarilyUnavailableAndReplaysStillRevoke_item6() throws Exception {
    start(20);
    sofa.emrToken(browser, "dr.tremblay", "password"); // SSO session for the rounds below
    boolean refused = false;
    for (int i = 0; i < 60 && !refused; i++) {
      Browser.Authz a = browser.authorize(sofa.authorize(), Map.of("client_id", "emr",
          "redirect_uri", TestSofa.EMR_REDIRECT.toString(), "aud", sofa.fhirBase().toString(),
          "scope", "openid user/*.rs"), "dr.tremblay", "password");
      if (!a.callback().containsKey("code")) {
        assertThat(a.callback()).containsEntry("error", "temporarily_unavailable");
        refused = true;
        break;
      }
      Map<String, String> form = Map.of("grant_type", "authorization_code", "code",
          a.callback().get("code"), "redirect_uri", TestSofa.EMR_REDIRECT.toString(),
          "code_verifier", a.verifier);
      HttpResponse<String> t = browser.postForm(sofa.token(), form, TestSofa.basic("emr", TestSofa.EMR_SECRET));
      if (t.statusCode() != 200) {
        temporarilyUnavailable(t);
        refused = true;
        break;
      }
      JsonNode tok = TestSofa.json(t.body());
      assertThat(browser.postForm(sofa.token(), form, TestSofa.basic("emr", TestSofa.EMR_SECRET))
          .statusCode()).isEqualTo(400);
      assertThat(active(tok.get("access_token").asText())).as("round %d: replayed code's token", i)
          .isFalse();
    }
    assertThat(refused).isTrue();
  }
}
