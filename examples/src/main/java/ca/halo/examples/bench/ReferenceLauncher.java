package ca.halo.examples.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The SMART Health IT reference launcher (smart-launcher-v2, Node), run by whoever runs the
 * harness ({@code --launcher <its origin>}), timed with the same JDK client, in the same run, as
 * the SoFA's authorize and token. Driven as its launch simulator allows without a browser: a
 * patient-standalone launch of a confidential client (client_secret_basic, as the SoFA's EMR
 * client), PKCE S256, {@code openid fhirUser}, login and approval skipped. Its token answer then
 * carries an RS256 id_token, as the SoFA's does. Its authorize signs the code with HMAC and keeps
 * nothing (its codes are not single-use); its token call checks that code, PKCE and the client,
 * and signs an HS256 access token and the RS256 id_token.
 */
final class ReferenceLauncher {
  private static final String PATIENT = "87a339d0-8cae-418e-89c7-8651e6aab3c6";
  private static final String CLIENT_ID = "bench-client";
  private static final String SECRET = "bench-launcher-secret";
  private static final String REDIRECT = "http://127.0.0.1:9/callback";
  private static final String SCOPE = "openid fhirUser patient/*.read launch/patient";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final HttpClient http;
  private final String authorize;
  private final String token;
  private final String aud;
  private final String basic;

  ReferenceLauncher(HttpClient http, String origin) {
    this.http = http;
    String o = origin.endsWith("/") ? origin.substring(0, origin.length() - 1) : origin;
    // the launcher's "sim" options: base64url of a positional JSON array (launch type 3 =
    // patient-standalone; encounter NONE; skip login and approval; client type 1 = confidential
    // symmetric; PKCE 2 = always)
    String sim = "[3,\"" + PATIENT + "\",\"\",\"NONE\",1,1,0,\"\",\"" + REDIRECT + "\",\"" + CLIENT_ID
        + "\",\"" + SECRET + "\",\"\",\"\",\"\",1,2,\"\"]";
    String encoded = Base64.getUrlEncoder().withoutPadding()
        .encodeToString(sim.getBytes(StandardCharsets.UTF_8));
    String base = o + "/v/r4/sim/" + encoded;
    this.authorize = base + "/auth/authorize";
    this.token = base + "/auth/token";
    this.aud = base + "/fhir";
    this.basic = "Basic " + Base64.getEncoder().encodeToString(
        (CLIENT_ID + ":" + SECRET).getBytes(StandardCharsets.UTF_8));
  }

  /** Times {@code n} launches (authorize, then at once the token call for its code). */
  void measure(int n, Stats authorizeTimes, Stats tokenTimes) throws Exception {
    for (int i = 0; i < n; i++) {
      String verifier = random();
      String challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
      URI uri = URI.create(authorize + "?response_type=code&client_id=" + CLIENT_ID
          + "&redirect_uri=" + HaloBench.enc(REDIRECT) + "&scope=" + HaloBench.enc(SCOPE)
          + "&state=" + random() + "&nonce=" + random() + "&aud=" + HaloBench.enc(aud)
          + "&code_challenge_method=S256&code_challenge=" + challenge);
      long s0 = System.nanoTime();
      HttpResponse<Void> a = http.send(HttpRequest.newBuilder(uri).GET().build(),
          HttpResponse.BodyHandlers.discarding());
      long s1 = System.nanoTime();
      String location = a.headers().firstValue("Location").orElse("");
      if (a.statusCode() != 302 || !location.contains("code=")) {
        // the launcher answers its errors as a redirect too
        throw new IllegalStateException("the launcher's authorize answered " + a.statusCode() + " " + location);
      }
      String code = location.replaceAll(".*[?&]code=([^&]+).*", "$1");
      long s2 = System.nanoTime();
      HttpResponse<String> t = http.send(HttpRequest.newBuilder(URI.create(token))
          .header("Authorization", basic).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("grant_type=authorization_code&code=" + code
              + "&redirect_uri=" + HaloBench.enc(REDIRECT) + "&code_verifier=" + verifier))
          .build(), HttpResponse.BodyHandlers.ofString());
      long s3 = System.nanoTime();
      if (t.statusCode() != 200 || !t.body().contains("\"id_token\"")) {
        throw new IllegalStateException("the launcher's token endpoint answered " + t.statusCode());
      }
      if (authorizeTimes != null) {
        authorizeTimes.add(s1 - s0);
        tokenTimes.add(s3 - s2);
      }
    }
  }

  private static String random() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
