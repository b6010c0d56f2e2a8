package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.SmartScopes;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.testkit.Abbrev;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterProperty;

/**
 * id_token validation in {@link SmartAppClient#completeAuthorization} against real RS256 JWTs
 * signed with Nimbus's key, then mutated: claims (dropped, retyped, duplicated, huge, deeply
 * nested; re-signed with the real key), headers (alg none, HS256 keyed with the public key, a
 * foreign key with the right kid, an embedded jwk, mutated header JSON; re-signed), the signature
 * (flipped, cut, padded, swapped) and the encoding (characters inserted or dropped, parts added,
 * removed, reordered, invalid UTF-8 in base64url). The whole authorization flow runs on loopback.
 *
 * <p>Checked per try, within a bounded time: only a {@link HaloException} escapes; a token whose
 * signed bytes changed without a fresh signature by the real key is refused; a token accepted
 * after its claims changed still names the right issuer, nonce and a future expiry.
 */
class IdTokenProperties {
  private static final URI REDIRECT = URI.create("http://localhost:9999/callback");
  private static final SmartScopes SCOPES = SmartScopes.parse("launch openid fhirUser patient/*.rs");
  private static final ObjectMapper M = new ObjectMapper();
  private static final String NONCE = "NONCE-PLACEHOLDER";
  private static final String EXP = "9999999999";
  private static final String HEADER = "{\"alg\":\"RS256\",\"kid\":\"as-key-1\",\"typ\":\"JWT\"}";

  private final ScriptedAuthServer as;
  private final HaloHttp http = HaloHttp.defaults();
  private final SmartAppClient sof;
  private final RSAKey attacker;

  IdTokenProperties() throws Exception {
    as = new ScriptedAuthServer();
    attacker = new RSAKeyGenerator(2048).keyID("as-key-1").generate();
    sof = SmartAppClient.builder().http(http)
        .clientAuthentication(ClientAuthentication.publicClient("app")).redirectUri(REDIRECT)
        .build();
  }

  @AfterProperty
  void close() {
    sof.close();
    http.close();
    as.close();
  }

  private String claims() {
    long now = System.currentTimeMillis() / 1000;
    return "{\"iss\":\"" + as.base() + "\",\"sub\":\"user-1\",\"aud\":\"app\",\"nonce\":\"" + NONCE
        + "\",\"iat\":" + now + ",\"exp\":" + (now + 300) + ",\"fhirUser\":\"Practitioner/9\"}";
  }

  // ------------------------------------------------------------------ signing

  private static String b64(byte[] b) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String rs256(RSAKey key, String headerB64, String payloadB64) {
    try {
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(key.toPrivateKey());
      s.update((headerB64 + "." + payloadB64).getBytes(StandardCharsets.US_ASCII));
      return headerB64 + "." + payloadB64 + "." + b64(s.sign());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hs256(byte[] secret, String headerB64, String payloadB64) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      byte[] sig = mac.doFinal((headerB64 + "." + payloadB64).getBytes(StandardCharsets.US_ASCII));
      return headerB64 + "." + payloadB64 + "." + b64(sig);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] withNonce(byte[] b, String nonce) {
    String s = new String(b, StandardCharsets.ISO_8859_1);
    return s.replace(NONCE, nonce).getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String utf8b64(String json) {
    return b64(json.getBytes(StandardCharsets.UTF_8));
  }

  // ------------------------------------------------------------------ mutations

  /** One mutation: builds the token for a nonce, and says what a correct validator must do. */
  static final class Recipe {
    final String name;
    final Function<Ctx, String> build;
    /** Re-signed by the real key: acceptance is legitimate if the claims are still right. */
    final boolean resigned;

    Recipe(String name, Function<Ctx, String> build, boolean resigned) {
      this.name = name;
      this.build = build;
      this.resigned = resigned;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** What a recipe needs in the try: the real key, the attacker's key, the nonce, the original. */
  record Ctx(RSAKey key, RSAKey attacker, String nonce, String claims, String original) {}

  @Provide
  Arbitrary<Recipe> recipes() {
    return Arbitraries.frequencyOf(
        Tuple.of(1, Arbitraries.just(new Recipe("unchanged", c -> c.original(), true))),
        Tuple.of(6, claimMutations()),
        Tuple.of(4, headerMutations()),
        Tuple.of(3, fixedAttacks()),
        Tuple.of(4, signatureMutations()),
        Tuple.of(5, encodingMutations()));
  }

  private Arbitrary<Recipe> claimMutations() {
    // the seed's placeholders are filled in per try: the nonce, and the issuer via as.base()
    return Arbitraries.lazy(() -> JsonMutations.mutantsOf(claims(), List.of("iss", "sub", "aud",
            "nonce", "iat", "exp", "nbf", "azp", "fhirUser", "auth_time", "acr")))
        .map(m -> new Recipe("claims " + m, c -> rs256(c.key(), utf8b64(HEADER),
            b64(withNonce(m.bytes(), c.nonce()))), true));
  }

  private Arbitrary<Recipe> headerMutations() {
    return JsonMutations.mutantsOf(HEADER, List.of("alg", "kid", "typ", "crit", "jku", "jwk",
            "x5u", "x5c", "b64", "cty", "enc", "zip"))
        .map(m -> new Recipe("header " + m, c -> rs256(c.key(), b64(m.bytes()),
            b64(withNonce(c.claims().getBytes(StandardCharsets.UTF_8), c.nonce()))), true));
  }

  private Arbitrary<Recipe> fixedAttacks() {
    return Arbitraries.of(
        new Recipe("alg none", c -> utf8b64("{\"alg\":\"none\"}") + "."
            + utf8b64(c.claims().replace(NONCE, c.nonce())) + ".", false),
        new Recipe("alg none, signature kept", c -> utf8b64("{\"alg\":\"none\"}") + "."
            + utf8b64(c.claims().replace(NONCE, c.nonce())) + "."
            + c.original().substring(c.original().lastIndexOf('.') + 1), false),
        new Recipe("HS256 keyed with the public key", c -> hs256(
            c.key().toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8),
            utf8b64("{\"alg\":\"HS256\",\"kid\":\"as-key-1\"}"),
            utf8b64(c.claims().replace(NONCE, c.nonce()))), false),
        new Recipe("HS256 keyed with the modulus", c -> hs256(
            c.key().getModulus().decode(), utf8b64("{\"alg\":\"HS256\"}"),
            utf8b64(c.claims().replace(NONCE, c.nonce()))), false),
        new Recipe("foreign key, right kid", c -> rs256(c.attacker(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()))), false),
        new Recipe("foreign key embedded as jwk", c -> rs256(c.attacker(),
            utf8b64("{\"alg\":\"RS256\",\"jwk\":" + c.attacker().toPublicJWK().toJSONString() + "}"),
            utf8b64(c.claims().replace(NONCE, c.nonce()))), false),
        new Recipe("foreign key, unknown kid", c -> rs256(c.attacker(),
            utf8b64("{\"alg\":\"RS256\",\"kid\":\"other\"}"),
            utf8b64(c.claims().replace(NONCE, c.nonce()))), false),
        new Recipe("real key, wrong nonce", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, "other-nonce"))), false),
        new Recipe("real key, expired", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()).replaceFirst("\"exp\":\\d+",
                "\"exp\":1000"))), false),
        new Recipe("real key, other issuer", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()).replaceFirst("\"iss\":\"[^\"]*\"",
                "\"iss\":\"https://evil.example\""))), false),
        new Recipe("real key, other audience", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()).replace("\"aud\":\"app\"",
                "\"aud\":\"other-app\""))), false),
        new Recipe("real key, JWE-looking five parts", c -> c.original() + ".AAAA.BBBB", false),
        new Recipe("deeply nested claim, real key", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()).replace("\"sub\":\"user-1\"",
                "\"sub\":\"user-1\",\"deep\":" + "[".repeat(100_000) + "]".repeat(100_000)))),
            true),
        new Recipe("half-megabyte claim, real key", c -> rs256(c.key(), utf8b64(HEADER),
            utf8b64(c.claims().replace(NONCE, c.nonce()).replace("\"sub\":\"user-1\"",
                "\"sub\":\"user-1\",\"pad\":\"" + "x".repeat(500_000) + "\""))), true));
  }

  private Arbitrary<Recipe> signatureMutations() {
    Arbitrary<Integer> where = Arbitraries.integers().between(0, 10_000);
    Arbitrary<String> chars = Arbitraries.of("A", "B", "_", "-", "=", "==", ".", "+", "/", " ",
        "\u00e9", "\u0000", "AAAA");
    return Combinators.combine(Arbitraries.of(0, 1, 2, 3, 4, 5), where, chars).as((k, w, ch) ->
        new Recipe("signature op " + k + "@" + w + "=" + Abbrev.of(ch, 5), c -> {
          String t = c.original();
          int dot = t.lastIndexOf('.');
          String head = t.substring(0, dot + 1);
          String sig = t.substring(dot + 1);
          int pos = w % (sig.length() + 1);
          switch (k) {
            case 0: return head + sig.substring(0, pos) + ch
                + (pos < sig.length() ? sig.substring(pos + 1) : "");
            case 1: return head + sig.substring(0, pos);
            case 2: return head + sig + ch;
            case 3: return head;
            case 4: return head + sig.substring(0, pos) + ch + sig.substring(pos);
            default: return head + b64(new byte[sig.length() * 3 / 4]);
          }
        }, false));
  }

  private Arbitrary<Recipe> encodingMutations() {
    Arbitrary<Integer> where = Arbitraries.integers().between(0, 100_000);
    Arbitrary<String> chars = Arbitraries.oneOf(
        Arbitraries.of(".", "..", "=", " ", "\t", "\n", "+", "/", "~", "\u00e9", "\u0000", "\ud800",
            "%2E", "eyJ"),
        Arbitraries.strings().all().ofMaxLength(4));
    Arbitrary<byte[]> junk = Arbitraries.oneOf(
        Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
        Arbitraries.of(new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF, (byte) 0xFE},
            "{\"alg\":\"RS256\"".getBytes(StandardCharsets.UTF_8),
            "[]".getBytes(StandardCharsets.UTF_8), "null".getBytes(StandardCharsets.UTF_8),
            "{\"alg\":\"RS256\",\"kid\":\"as-key-1\"}\u0000".getBytes(StandardCharsets.UTF_8)));
    return Combinators.combine(Arbitraries.of(0, 1, 2, 3, 4, 5, 6, 7), where, chars, junk)
        .as((k, w, ch, bytes) -> new Recipe("encoding op " + k + "@" + w + "=" + Abbrev.of(ch, 5)
            + " junk=" + bytes.length, c -> {
              String t = c.original();
              String[] p = t.split("\\.", -1);
              int pos = w % (t.length() + 1);
              switch (k) {
                case 0: return t.substring(0, pos) + ch + t.substring(pos);
                case 1: return t.substring(0, pos) + t.substring(Math.min(t.length(), pos + 1 + w % 7));
                case 2: return t.substring(0, pos);
                case 3: return p[1] + "." + p[0] + "." + p[2];
                case 4: return p[0] + "." + p[1];
                case 5: return b64(bytes) + "." + p[1] + "." + p[2];
                case 6: return p[0] + "." + b64(bytes) + "." + p[2];
                default: return t + "." + p[2];
              }
            }, false));
  }

  // ------------------------------------------------------------------ the property

  private static String tokenBody(String idToken) {
    return "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":300,"
        + "\"scope\":\"launch openid fhirUser patient/*.rs\",\"id_token\":"
        + JsonMutations.quote(idToken) + "}";
  }

  @Example
  void completeAuthorization_headerJsonNull_idTokenException() {
    // regression: Nimbus's JWTParser threw NullPointerException on the header "null"
    AuthorizationRedirect redirect = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    String nonce = redirect.pending().nonce().orElseThrow();
    String token = utf8b64("null") + "." + utf8b64(claims().replace(NONCE, nonce)) + ".AAAA";
    as.tokenHandler = f -> ScriptedAuthServer.json(200, tokenBody(token));
    URI callback = URI.create(REDIRECT + "?code=c&state=" + redirect.pending().state());
    assertThatThrownBy(() -> sof.completeAuthorization(redirect.pending(), callback))
        .isInstanceOf(IdTokenException.class);
  }

  @Property(tries = 150)
  void completeAuthorization_mutatedIdToken_refusedUnlessStillValid(@ForAll("recipes") Recipe r)
      throws Exception {
    AuthorizationRedirect redirect = sof.beginEhrLaunch(as.iss(), "l", SCOPES);
    String nonce = redirect.pending().nonce().orElseThrow();
    String claims = claims();
    String original = rs256(as.signingKey, utf8b64(HEADER), utf8b64(claims.replace(NONCE, nonce)));
    String token = r.build.apply(new Ctx(as.signingKey, attacker, nonce, claims, original));
    as.tokenHandler = f -> ScriptedAuthServer.json(200, tokenBody(token));
    URI callback = URI.create(REDIRECT + "?code=c&state=" + redirect.pending().state());
    Outcomes.Outcome<TokenSet> out = Outcomes.onlyTyped(Duration.ofSeconds(5),
        () -> sof.completeAuthorization(redirect.pending(), callback), HaloException.class);
    Statistics.label("recipe").collect(r.name.split(" ")[0]);
    Statistics.label("outcome").collect(out.succeeded() ? "accepted"
        : out.error().getClass().getSimpleName());
    if (!out.succeeded()) {
      if (out.error() instanceof HaloTransportException) {
        // a token answer past NimbusHttp.MAX_BODY is refused before it is read
        assertThat(out.error()).hasMessageContaining("larger than");
        assertThat(tokenBody(token).length()).isGreaterThan(500_000);
      } else {
        assertThat(out.error()).as("a refused id_token is an IdTokenException")
            .isInstanceOf(IdTokenException.class);
      }
      return;
    }
    if (r.resigned) {
      // accepted after a change signed by the real key: the claims that matter are still right
      String[] p = token.split("\\.");
      // decoded as the verifier does (UTF-8, malformed bytes replaced): a re-signed mutation may
      // leave bytes that are not UTF-8 outside the claims that matter, and Jackson refuses those
      JsonNode c = M.readTree(new String(Base64.getUrlDecoder().decode(p[1]),
          StandardCharsets.UTF_8));
      assertThat(c.path("iss").asText()).isEqualTo(as.base());
      assertThat(c.path("nonce").asText()).isEqualTo(nonce);
      assertThat(c.path("exp").asLong()).isGreaterThan(System.currentTimeMillis() / 1000);
    } else {
      // accepted without a fresh signature: only the signature's text may differ, not its bytes
      String[] p = token.trim().split("\\.", -1);
      String[] o = original.split("\\.");
      assertThat(p).as("accepted a token whose signed parts changed: " + Abbrev.of(token, 200))
          .hasSize(3);
      assertThat(p[0]).isEqualTo(o[0]);
      assertThat(p[1]).isEqualTo(o[1]);
      assertThat(Arrays.equals(new Base64URL(p[2]).decode(), new Base64URL(o[2]).decode()))
          .as("accepted a different signature").isTrue();
    }
  }
}
