package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import java.time.Instant;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link TokenSet#parse(String, Instant)} and {@link TokenIntrospection#parse(String)} on hostile
 * token and introspection answers (the SMART spec example and a minimal answer, mutated). Only
 * {@link HaloParseException} may escape, within a bounded time; a set that parses answers every
 * accessor, never prints a token, and survives its own round trip.
 */
class TokenSetProperties {
  static final String SPEC_EXAMPLE = "{\"access_token\":\"i8hweunweunweofiwweoijewiwe\","
      + "\"token_type\":\"Bearer\",\"expires_in\":3600,"
      + "\"scope\":\"patient/Observation.rs patient/Patient.rs\",\"state\":\"98wrghuwuogerg97\","
      + "\"intent\":\"client-ui-name\",\"patient\":\"123\",\"encounter\":\"456\","
      + "\"need_patient_banner\":true,"
      + "\"smart_style_url\":\"https://ehr.example.org/styles/smart_v1.json\","
      + "\"refresh_token\":\"rt-secret\",\"fhirUser\":\"Practitioner/9\",\"tenant\":\"t1\","
      + "\"fhirContext\":[{\"reference\":\"Appointment/123\"},"
      + "{\"canonical\":\"http://example.org/Questionnaire/phq-9|1.0\",\"type\":\"Questionnaire\"},"
      + "{\"identifier\":{\"system\":\"urn:example\",\"value\":\"abc\"},\"type\":\"ServiceRequest\","
      + "\"role\":\"http://example.org/role/order\"}]}";
  static final String MINIMAL = "{\"access_token\":\"a\",\"token_type\":\"bearer\"}";
  static final List<String> FIELDS = List.of("access_token", "token_type", "expires_in", "scope",
      "refresh_token", "id_token", "patient", "encounter", "fhirContext", "need_patient_banner",
      "smart_style_url", "intent", "tenant", "fhirUser", "reference", "canonical", "identifier",
      "type", "role", "value", "system");
  private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

  @Provide
  Arbitrary<Mutant> answers() {
    return JsonMutations.mutantsOf(List.of(SPEC_EXAMPLE, MINIMAL), FIELDS);
  }

  @Property(tries = 600)
  void parse_mutatedTokenResponse_onlyHaloParseException(@ForAll("answers") Mutant m) {
    Outcomes.Outcome<TokenSet> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> TokenSet.parse(m.text(), NOW), HaloParseException.class);
    if (out.succeeded()) {
      TokenSet t = out.value();
      assertThat(t.accessToken().value()).isNotBlank();
      // the token can be sent as a bearer header (OkHttp checks header values)
      new okhttp3.Headers.Builder().add("Authorization", "Bearer " + t.accessToken().value());
      t.expiresAt().ifPresent(e -> assertThat(e).isAfterOrEqualTo(NOW));
      t.scopes();
      t.refreshToken();
      t.idToken();
      t.fhirUser();
      t.launchContext().toJson();
      // (tokens of a few characters may occur in the printed field names by chance)
      if (t.accessToken().value().length() >= 8) {
        assertThat(t.toString()).doesNotContain(t.accessToken().value());
      }
      t.refreshToken().filter(r -> r.length() >= 8)
          .ifPresent(r -> assertThat(t.toString()).doesNotContain(r));
      assertThat(TokenSet.parse(t.toJson(), NOW)).isEqualTo(t);
    }
  }

  @Provide
  Arbitrary<Mutant> introspections() {
    return JsonMutations.mutantsOf(List.of("{\"active\":true,\"scope\":\"user/*.rs\","
        + "\"client_id\":\"app\",\"sub\":\"u1\",\"exp\":4102444800}", "{\"active\":false}"),
        List.of("active", "scope", "client_id", "sub", "exp"));
  }

  @Property(tries = 300)
  void introspectionParse_mutatedAnswer_onlyHaloParseException(@ForAll("introspections") Mutant m) {
    Outcomes.onlyTyped(Outcomes.PARSE_BOUND, () -> {
      TokenIntrospection i = TokenIntrospection.parse(m.text());
      i.active();
      i.scopes();
      i.clientId();
      i.subject();
      i.expiresAt();
      i.member("exp");
      i.toString();
      return i;
    }, HaloParseException.class);
  }

  @Example
  void parse_hugeExpiresIn_haloParseException() {
    // regression: receivedAt.plusSeconds(Long.MAX_VALUE) threw DateTimeException
    for (String n : List.of("9223372036854775807", "31556889864403199", "1e18")) {
      assertThatThrownBy(() -> TokenSet.parse(MINIMAL.replace("}", ",\"expires_in\":" + n + "}"),
          NOW)).as(n).isInstanceOf(HaloParseException.class).hasMessageContaining("expires_in");
    }
  }

  @Example
  void parse_accessTokenOutsideVisibleAscii_haloParseException() {
    // regression: accepted here, then every FHIR request threw IllegalArgumentException from
    // OkHttp's header check in BearerTokenInterceptor
    for (String token : List.of("t\u00f6k", "tok\nX-Injected: 1", "tok en", "tok\u0000")) {
      assertThatThrownBy(() -> TokenSet.parse(MINIMAL.replace("\"a\"",
          JsonMutations.quote(token)), NOW)).as(token).isInstanceOf(HaloParseException.class)
          .hasMessageContaining("access_token");
    }
    assertThat(TokenSet.parse(MINIMAL.replace("\"a\"", "\"eyJ.a-b_c~d+e/f==\""), NOW)
        .accessToken().value()).isEqualTo("eyJ.a-b_c~d+e/f==");
  }

  @Example
  void introspection_malformedScope_haloParseExceptionAtParse() {
    // regression: scopes() threw SmartScopes' IllegalArgumentException on a stored answer
    assertThatThrownBy(() -> TokenIntrospection.parse(
        "{\"active\":true,\"scope\":\"user/\ufffd(*.rs\"}"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("scope");
  }

  @Example
  void introspection_hugeExp_haloParseException() {
    // regression: Instant.ofEpochSecond(Long.MAX_VALUE) threw DateTimeException from expiresAt()
    TokenIntrospection i = TokenIntrospection.parse(
        "{\"active\":true,\"exp\":9223372036854775807}");
    assertThatThrownBy(i::expiresAt).isInstanceOf(HaloParseException.class);
  }
}
