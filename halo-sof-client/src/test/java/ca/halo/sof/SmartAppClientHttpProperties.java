package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.HaloException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScopes;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import mockwebserver3.MockResponse;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import okio.Buffer;

/**
 * What {@link SmartAppClient} does with hostile answers over HTTP on loopback: mutated
 * smart-configuration documents with hostile {@code Cache-Control} headers, and mutated token
 * answers (invalid UTF-8 included) under assorted status codes and content types. Only a
 * {@link HaloException} may escape, within a bounded time.
 */
class SmartAppClientHttpProperties {
  private static final URI REDIRECT = URI.create("http://localhost:9999/callback");
  private static final Duration BOUND = Duration.ofSeconds(5);

  private final ScriptedAuthServer as;
  private final HaloHttp http = HaloHttp.defaults();
  private final SmartAppClient shared;

  SmartAppClientHttpProperties() throws Exception {
    as = new ScriptedAuthServer();
    shared = client();
  }

  private SmartAppClient client() {
    return SmartAppClient.builder().http(http)
        .clientAuthentication(ClientAuthentication.clientSecretBasic("app", "s3cret"))
        .redirectUri(REDIRECT).build();
  }

  @AfterProperty
  void close() {
    shared.close();
    http.close();
    as.close();
  }

  // ------------------------------------------------------------------ discovery

  @Provide
  Arbitrary<Mutant> configurations() {
    return Arbitraries.lazy(() -> JsonMutations.mutantsOf(as.smartConfig(), List.of("issuer",
        "jwks_uri", "authorization_endpoint", "token_endpoint", "grant_types_supported",
        "code_challenge_methods_supported", "capabilities", "introspection_endpoint")));
  }

  @Provide
  Arbitrary<String> cacheControls() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.just((String) null)),
        Tuple.of(4, Arbitraries.of("max-age=9223372036854775807", "max-age=-1", "max-age=",
            "max-age=abc", "max-age=1e9", "no-store", "no-cache, max-age=60", "max-age=60",
            "MAX-AGE=31536000000", " max-age = 5 ", ",,,", "max-age=99999999999999999999",
            "private, max-age=9223372036854775806")),
        Tuple.of(1, Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(40)));
  }

  @Property(tries = 120)
  void discover_mutatedDocumentAndCacheControl_onlyHaloException(
      @ForAll("configurations") Mutant m, @ForAll("cacheControls") String cacheControl) {
    as.smartConfigOverride = m.text();
    as.smartConfigCacheControl = cacheControl;
    SmartAppClient fresh = client();
    Outcomes.Outcome<SmartConfiguration> out = Outcomes.onlyTyped(BOUND,
        () -> fresh.discover(as.iss()), HaloException.class);
    if (out.succeeded()) {
      // a cached answer is served again without throwing, and its endpoints can be called
      Outcomes.onlyTyped(BOUND, () -> fresh.discover(as.iss()), HaloException.class);
      as.tokenHandler = f -> ScriptedAuthServer.json(200, TokenSetProperties.MINIMAL);
      Outcomes.onlyTyped(BOUND, () -> fresh.clientCredentials(as.iss(),
          SmartScopes.parse("system/*.rs")), HaloException.class);
    }
  }

  @Example
  void discover_hugeMaxAge_cachedWithoutOverflow() {
    // regression: clock.instant().plus(Duration.ofSeconds(Long.MAX_VALUE)) threw
    // ArithmeticException out of discover()
    as.smartConfigOverride = null;
    as.smartConfigCacheControl = "max-age=9223372036854775807";
    SmartAppClient fresh = client();
    fresh.discover(as.iss());
    fresh.discover(as.iss());
    assertThat(as.discoveryHits.get()).isEqualTo(1);
    assertThat(fresh.cacheTtl("max-age=9223372036854775807"))
        .isGreaterThanOrEqualTo(SmartAppClient.MAX_CACHE_TTL);
  }

  // ------------------------------------------------------------------ the redirect back

  @Provide
  Arbitrary<String> queries() {
    Arbitrary<String> pieces = Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.of("state=STATE", "code=c", "error=access_denied",
            "error_description=no+way", "state=", "code=", "code", "=", "&", "%", "%zz", "%e9",
            "%C3%28", "%00", "state=STATE&state=other", "state=other&state=STATE", "+",
            "error=", "iss=https%3A%2F%2Fevil.example", "code=" + "c".repeat(10_000))),
        Tuple.of(1, Arbitraries.strings().withCharRange('!', '~').ofMaxLength(12)));
    return pieces.list().ofMaxSize(5).map(l -> String.join("&", l));
  }

  @Property(tries = 100)
  void completeAuthorization_hostileCallbackQuery_onlyHaloException(
      @ForAll("queries") String query) {
    as.smartConfigOverride = null;
    as.smartConfigCacheControl = null;
    as.tokenHandler = f -> ScriptedAuthServer.json(200, TokenSetProperties.MINIMAL);
    AuthorizationRedirect r = shared.beginStandaloneLaunch(as.iss(),
        SmartScopes.parse("patient/*.rs"));
    URI callback;
    try {
      callback = new URI(REDIRECT + "?" + query.replace("STATE", r.pending().state()));
    } catch (java.net.URISyntaxException e) {
      return; // java.net.URI refuses it (broken % escapes among others): it cannot arrive
    }
    Outcomes.onlyTyped(BOUND, () -> shared.completeAuthorization(r.pending(), callback),
        HaloException.class);
  }

  @Provide
  Arbitrary<Mutant> pendings() {
    return Arbitraries.lazy(() -> JsonMutations.mutantsOf(shared.beginEhrLaunch(as.iss(), "l",
            SmartScopes.parse("launch openid patient/*.rs")).pending().toJson(),
        List.of("iss", "authorization_endpoint", "token_endpoint", "client_id", "redirect_uri",
            "state", "nonce", "code_verifier", "scope", "launch", "created_at")));
  }

  @Property(tries = 150)
  void pendingAuthorizationParse_tamperedRecord_onlyHaloParseException(
      @ForAll("pendings") Mutant m) {
    Outcomes.Outcome<PendingAuthorization> out = Outcomes.onlyTyped(BOUND,
        () -> PendingAuthorization.parse(m.text()), ca.halo.core.HaloParseException.class);
    if (out.succeeded()) {
      assertThat(PendingAuthorization.parse(out.value().toJson()).toJson())
          .isEqualTo(out.value().toJson());
    }
  }

  @Example
  void pendingAuthorizationParse_shortCodeVerifier_haloParseException() {
    // regression: Nimbus's CodeVerifier threw IllegalArgumentException later, in
    // completeAuthorization, for a tampered or corrupted record
    String json = shared.beginStandaloneLaunch(as.iss(), SmartScopes.parse("patient/*.rs"))
        .pending().toJson().replaceFirst("\"code_verifier\":\"[^\"]*\"", "\"code_verifier\":\"x\"");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PendingAuthorization.parse(json))
        .isInstanceOf(ca.halo.core.HaloParseException.class).hasMessageContaining("verifier");
  }

  // ------------------------------------------------------------------ token answers

  @Provide
  Arbitrary<Mutant> tokenAnswers() {
    return JsonMutations.mutantsOf(List.of(TokenSetProperties.SPEC_EXAMPLE,
        TokenSetProperties.MINIMAL, "{\"error\":\"invalid_grant\",\"error_description\":\"no\"}"),
        TokenSetProperties.FIELDS);
  }

  @Provide
  Arbitrary<Integer> statuses() {
    return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(200)),
        Tuple.of(2, Arbitraries.of(400, 401, 403, 500, 503, 302, 204, 201, 299)));
  }

  @Provide
  Arbitrary<String> contentTypes() {
    return Arbitraries.of("application/json", "application/json; charset=utf-8",
        "application/json; charset=utf-16", "application/json; charset=nonsense",
        "text/html", "application/x-www-form-urlencoded", "");
  }

  @Property(tries = 120)
  void tokenAnswer_mutatedBodyStatusAndType_onlyHaloException(@ForAll("tokenAnswers") Mutant m,
      @ForAll("statuses") int status, @ForAll("contentTypes") String type) {
    as.smartConfigOverride = null;
    as.smartConfigCacheControl = null;
    as.tokenHandler = f -> {
      MockResponse.Builder b = new MockResponse.Builder().code(status)
          .body(new Buffer().write(m.bytes()));
      if (!type.isEmpty()) {
        b.setHeader("Content-Type", type);
      }
      if (status == 302) {
        b.setHeader("Location", "https://evil.example/token");
      }
      return b.build();
    };
    Outcomes.Outcome<TokenSet> out = Outcomes.onlyTyped(BOUND,
        () -> shared.clientCredentials(as.iss(), SmartScopes.parse("system/*.rs")),
        HaloException.class);
    if (status != 200) {
      assertThat(out.succeeded()).as("an HTTP " + status + " answer is not a token").isFalse();
      // an error status is a refusal; a 204 with a body breaks HTTP itself (transport)
      assertThat(out.error()).isInstanceOfAny(HaloResponseException.class,
          HaloTransportException.class);
    }
  }
}
