package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmartConfigurationTest {
  private static final String EXAMPLE = Fixtures.read("smart-configuration-example.json");

  @Test
  void parse_specExample_readsEveryField() {
    SmartConfiguration c = SmartConfiguration.parse(EXAMPLE);
    assertThat(c.tokenEndpoint()).isEqualTo(URI.create("https://ehr.example.com/auth/token"));
    assertThat(c.authorizationEndpoint()).contains(URI.create("https://ehr.example.com/auth/authorize"));
    assertThat(c.issuer()).contains(URI.create("https://ehr.example.com"));
    assertThat(c.introspectionEndpoint()).isPresent();
    assertThat(c.revocationEndpoint()).isPresent();
    assertThat(c.grantTypesSupported()).containsExactly("authorization_code", "client_credentials");
    assertThat(c.hasCapability(SmartCapability.LAUNCH_EHR)).isTrue();
    assertThat(c.hasCapability(SmartCapability.LAUNCH_STANDALONE)).isFalse();
    assertThat(c.codeChallengeMethodsSupported()).containsExactly("S256");
  }

  @Test
  void roundTrip_keepsUnknownMembers() {
    SmartConfiguration c = SmartConfiguration.parse(EXAMPLE);
    assertThat(c.extensions()).containsKey("token_endpoint_auth_signing_alg_values_supported");
    SmartConfiguration again = SmartConfiguration.parse(c.toJson());
    assertThat(again).isEqualTo(c);
    assertThat(again.toJson()).contains("\"token_endpoint_auth_signing_alg_values_supported\":[\"RS384\",\"ES384\"]");
  }

  @Test
  void parse_missingTokenEndpoint_throwsNamingField() {
    String json = EXAMPLE.replace("\"token_endpoint\":", "\"x_token_endpoint\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("token_endpoint");
  }

  @Test
  void parse_missingCapabilities_throws() {
    String json = EXAMPLE.replace("\"capabilities\":", "\"x_capabilities\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("capabilities");
  }

  @Test
  void parse_missingGrantTypes_throws() {
    String json = EXAMPLE.replace("\"grant_types_supported\":", "\"x_grant_types_supported\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("grant_types_supported");
  }

  @Test
  void parse_onlyPlainPkce_throws() {
    String json = EXAMPLE.replace("\"S256\"", "\"plain\"");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("S256");
  }

  @Test
  void parse_plainBesideS256_throws() {
    String json = EXAMPLE.replace("\"S256\"", "\"S256\", \"plain\"");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("plain");
  }

  @Test
  void parse_noCodeChallengeMethods_throws() {
    String json = EXAMPLE.replace("\"code_challenge_methods_supported\":", "\"x\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("code_challenge_methods_supported");
  }

  @Test
  void parse_launchEhrWithoutAuthorizationEndpoint_throws() {
    String json = EXAMPLE.replace("\"authorization_endpoint\":", "\"x_authorization_endpoint\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("authorization_endpoint");
  }

  @Test
  void parse_ssoWithoutJwksUri_throws() {
    String json = EXAMPLE.replace("\"jwks_uri\":", "\"x_jwks_uri\":");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("jwks_uri");
  }

  @Test
  void parse_malformedJson_throwsParseException() {
    assertThatThrownBy(() -> SmartConfiguration.parse("{\"token_endpoint\": "))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("malformed JSON");
    assertThatThrownBy(() -> SmartConfiguration.parse("[1]"))
        .isInstanceOf(HaloParseException.class);
  }

  @Test
  void parse_relativeUrl_throws() {
    String json = EXAMPLE.replace("https://ehr.example.com/auth/token", "/auth/token");
    assertThatThrownBy(() -> SmartConfiguration.parse(json))
        .isInstanceOf(HaloParseException.class)
        .hasMessageContaining("absolute");
  }

  @Test
  void builder_missingTokenEndpoint_failsInBuild() {
    assertThatThrownBy(() -> SmartConfiguration.builder()
            .grantTypesSupported(List.of("authorization_code")).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("token_endpoint");
  }

  @Test
  void builder_validDocument_roundTrips() {
    SmartConfiguration c = SmartConfiguration.builder()
        .tokenEndpoint(URI.create("http://localhost/token"))
        .authorizationEndpoint(URI.create("http://localhost/authorize"))
        .grantTypesSupported(List.of("authorization_code"))
        .addCapability(SmartCapability.LAUNCH_EHR)
        .addCapability(SmartCapability.of("x-custom"))
        .extension("halo_version", "\"1.1.0\"")
        .build();
    SmartConfiguration parsed = SmartConfiguration.parse(c.toJson());
    assertThat(parsed).isEqualTo(c);
    assertThat(parsed.hasCapability(SmartCapability.of("x-custom"))).isTrue();
    assertThat(parsed.extensions()).containsEntry("halo_version", "\"1.1.0\"");
  }
}
