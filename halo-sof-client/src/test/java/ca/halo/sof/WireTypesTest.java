package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.SmartScopes;
import java.net.URI;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WireTypesTest {
  @Test
  void pendingAuthorization_roundTrip_andToStringHidesSecrets() {
    PendingAuthorization p = new PendingAuthorization(URI.create("http://localhost/fhir"),
        URI.create("http://localhost/authorize"), URI.create("http://localhost/token"), "app",
        URI.create("http://localhost/cb"), "state-xyz", "nonce-xyz",
        "verifier-xyz-0123456789abcdefghijklmnopqrstuvwxyz",
        SmartScopes.parse("launch openid"), "launch-1", Instant.parse("2026-01-01T00:00:00Z"));
    assertThat(PendingAuthorization.parse(p.toJson())).isEqualTo(p);
    assertThat(p.toString()).doesNotContain("verifier-xyz").doesNotContain("state-xyz").doesNotContain("nonce-xyz");
  }

  @Test
  void pendingAuthorization_missingVerifier_throws() {
    assertThatThrownBy(() -> PendingAuthorization.parse("{\"iss\":\"http://x\"}"))
        .isInstanceOf(HaloParseException.class);
  }

  @Test
  void tokenSet_expiresInComputedFromReceivedAt() {
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    TokenSet t = TokenSet.parse("{\"access_token\":\"a\",\"token_type\":\"bearer\",\"expires_in\":300,\"scope\":\"x\"}", t0);
    assertThat(t.expiresAt()).contains(t0.plusSeconds(300));
    assertThat(TokenSet.parse(t.toJson(), t0)).isEqualTo(t);
  }

  @Test
  void tokenSet_negativeExpiresIn_throws() {
    assertThatThrownBy(() -> TokenSet.parse(
            "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-1}", Instant.now()))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("expires_in");
  }
}
