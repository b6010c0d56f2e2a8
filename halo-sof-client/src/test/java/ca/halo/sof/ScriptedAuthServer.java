package ca.halo.sof;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * A scripted SMART authorization server on loopback for the client's edge cases (forged and
 * expired id_tokens, malformed token answers) that a correct server never produces. The happy
 * path also runs against the real halo-server-spi authorization server in the integration tests.
 */
final class ScriptedAuthServer implements AutoCloseable {
  final MockWebServer server = new MockWebServer();
  final RSAKey signingKey;
  final ConcurrentLinkedQueue<RecordedRequest> tokenRequests = new ConcurrentLinkedQueue<>();
  final AtomicInteger discoveryHits = new AtomicInteger();
  volatile String smartConfigCacheControl;
  volatile String smartConfigOverride;
  volatile Function<Map<String, String>, MockResponse> tokenHandler;
  volatile Function<Map<String, String>, MockResponse> introspectHandler =
      f -> json(200, "{\"active\":true,\"scope\":\"user/*.rs\",\"client_id\":\"app\",\"sub\":\"u1\",\"exp\":4102444800}");

  ScriptedAuthServer() throws Exception {
    signingKey = new RSAKeyGenerator(2048).keyID("as-key-1").generate();
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest r) {
        String path = r.getUrl().encodedPath();
        switch (path) {
          case "/fhir/.well-known/smart-configuration":
            discoveryHits.incrementAndGet();
            MockResponse.Builder b = new MockResponse.Builder().code(200)
                .setHeader("Content-Type", "application/json")
                .body(smartConfigOverride != null ? smartConfigOverride : smartConfig());
            if (smartConfigCacheControl != null) {
              b.setHeader("Cache-Control", smartConfigCacheControl);
            }
            return b.build();
          case "/jwks":
            return json(200, new JWKSet(signingKey.toPublicJWK()).toString());
          case "/token":
            tokenRequests.add(r);
            return tokenHandler.apply(form(r));
          case "/introspect":
            tokenRequests.add(r);
            return introspectHandler.apply(form(r));
          case "/revoke":
            tokenRequests.add(r);
            return new MockResponse.Builder().code(200).build();
          default:
            return new MockResponse.Builder().code(404).build();
        }
      }
    });
    server.start(0);
  }

  URI iss() {
    return URI.create(server.url("/fhir").toString());
  }

  String base() {
    String s = server.url("/").toString();
    return s.substring(0, s.length() - 1);
  }

  String smartConfig() {
    return "{\"issuer\":\"" + base() + "\",\"jwks_uri\":\"" + base() + "/jwks\","
        + "\"authorization_endpoint\":\"" + base() + "/authorize\","
        + "\"token_endpoint\":\"" + base() + "/token\","
        + "\"introspection_endpoint\":\"" + base() + "/introspect\","
        + "\"revocation_endpoint\":\"" + base() + "/revoke\","
        + "\"grant_types_supported\":[\"authorization_code\",\"client_credentials\",\"refresh_token\"],"
        + "\"code_challenge_methods_supported\":[\"S256\"],"
        + "\"capabilities\":[\"launch-ehr\",\"launch-standalone\",\"client-public\","
        + "\"client-confidential-symmetric\",\"client-confidential-asymmetric\",\"sso-openid-connect\"]}";
  }

  static Map<String, String> form(RecordedRequest r) {
    Map<String, String> out = new HashMap<>();
    String body = r.getBody() == null ? "" : r.getBody().utf8();
    String q = r.getUrl().encodedQuery();
    String all = body + (q != null ? "&" + q : "");
    for (String pair : all.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    String auth = r.getHeaders().get("Authorization");
    if (auth != null) {
      out.put("__authorization", auth);
    }
    return out;
  }

  static MockResponse json(int code, String body) {
    return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json")
        .body(body).build();
  }

  String idToken(RSAKey key, String aud, String nonce, Date exp, String fhirUser) throws Exception {
    JWTClaimsSet.Builder c = new JWTClaimsSet.Builder()
        .issuer(base()).subject("user-1").audience(aud)
        .issueTime(new Date()).expirationTime(exp);
    if (nonce != null) {
      c.claim("nonce", nonce);
    }
    if (fhirUser != null) {
      c.claim("fhirUser", fhirUser);
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256)
        .keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), c.build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  @Override
  public void close() {
    server.close();
  }
}
