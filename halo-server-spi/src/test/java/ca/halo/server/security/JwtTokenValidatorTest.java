package ca.halo.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import org.junit.jupiter.api.Test;

class JwtTokenValidatorTest {
  @Test
  void toPrincipal_oneMalformedScope_dropsOnlyThatOne_item8() {
    Principal p = JwtTokenValidator.toPrincipal(new JWTClaimsSet.Builder().subject("s")
        .claim("client_id", "c").claim("scope", "patient/Observation.rx user/*.rs system/Context.admin")
        .build());
    assertThat(p.scopes().format()).isEqualTo("user/*.rs system/Context.admin");
  }
}
