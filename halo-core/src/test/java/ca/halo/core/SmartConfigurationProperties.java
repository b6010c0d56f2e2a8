package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link SmartConfiguration#parse(String)} on hostile documents: the spec example and a minimal
 * valid document, mutated (fields dropped, duplicated, retyped; huge numbers, deep nesting, long
 * strings; truncation, invalid UTF-8, random bytes). Only {@link HaloParseException} may escape,
 * within a bounded time; whatever parses must survive its own round trip.
 */
class SmartConfigurationProperties {
  private static final String MINIMAL = "{\"token_endpoint\":\"https://as.example/token\","
      + "\"grant_types_supported\":[\"client_credentials\"],\"capabilities\":[],"
      + "\"code_challenge_methods_supported\":[\"S256\"]}";
  private static final List<String> FIELDS = List.of("issuer", "jwks_uri",
      "authorization_endpoint", "token_endpoint", "token_endpoint_auth_methods_supported",
      "grant_types_supported", "registration_endpoint", "scopes_supported",
      "response_types_supported", "management_endpoint", "introspection_endpoint",
      "revocation_endpoint", "capabilities", "code_challenge_methods_supported");

  @Provide
  Arbitrary<Mutant> documents() {
    return JsonMutations.mutantsOf(
        List.of(Fixtures.read("smart-configuration-example.json"), MINIMAL), FIELDS);
  }

  @Property(tries = 600)
  void parse_mutatedDocument_onlyHaloParseException(@ForAll("documents") Mutant m) {
    Outcomes.Outcome<SmartConfiguration> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> SmartConfiguration.parse(m.text()), HaloParseException.class);
    if (out.succeeded()) {
      SmartConfiguration c = out.value();
      assertThat(c.tokenEndpoint()).isNotNull();
      assertThat(c.codeChallengeMethodsSupported()).contains("S256").doesNotContain("plain");
      assertThat(SmartConfiguration.parse(c.toJson())).isEqualTo(c);
      assertThat(c.toString()).isNotBlank();
    }
  }

  @Example
  void parse_blankCapability_haloParseException() {
    // regression: SmartCapability.of threw IllegalArgumentException through parse
    String json = MINIMAL.replace("\"capabilities\":[]", "\"capabilities\":[\" \"]");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("capabilities");
  }

  @Example
  void parse_endpointThatIsNotAnHttpUrl_haloParseException() {
    // regression: java.net.URI took "http://127.0.0.1:58341\ufffdtoken" (a registry authority,
    // no host) as absolute; the token request then threw Nimbus's SerializeException (from a
    // MalformedURLException); ftp://localhost passed the transport check and OkHttp threw
    // IllegalArgumentException
    for (String url : List.of("http://127.0.0.1:58341\ufffdtoken", "https://as.example:12x/token",
        "ftp://localhost/token", "http://localhost:0/token", "http://127.0.0.1:99999/token",
        "urn:uuid:11111111-1111-1111-1111-111111111111", "javascript:alert(1)")) {
      String json = MINIMAL.replace("https://as.example/token", url);
      assertThatThrownBy(() -> SmartConfiguration.parse(json)).as(url)
          .isInstanceOf(HaloParseException.class).hasMessageContaining("token_endpoint");
    }
  }

  @Example
  void parse_nullDocument_haloParseException() {
    assertThatThrownBy(() -> SmartConfiguration.parse(null))
        .isInstanceOf(HaloParseException.class);
  }
}
