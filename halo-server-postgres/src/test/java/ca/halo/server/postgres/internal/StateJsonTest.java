package ca.halo.server.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.AuthorizationGrant;
import ca.halo.server.authz.PendingSignIn;
import java.net.URI;
import org.junit.jupiter.api.Test;

class StateJsonTest {
  private static final AuthenticatedUser USER = new AuthenticatedUser("dr.a", "Practitioner/1", "Dr A");

  @Test
  void signIn_fullWithAttempts_roundTrips() {
    PendingSignIn p = PendingSignIn.builder("app", URI.create("https://app.example/cb?x=1"), "st\u0000ate",
        "c".repeat(43), SmartScopes.parse("launch openid fhirUser patient/*.rs")).clientName("Growth Chart")
        .nonce("n").sessionId("s").browserBinding("bind").remoteAddress("2001:db8::1").build()
        .withAttempt().withAttempt();

    PendingSignIn back = StateJson.signIn(StateJson.write(p), 2);

    assertThat(back).isEqualTo(p);
    assertThat(back.clientName()).isEqualTo("Growth Chart");
    assertThat(back.attempts()).isEqualTo(2);
  }

  @Test
  void signIn_minimal_roundTripsWithAbsentOptionals() {
    PendingSignIn p = PendingSignIn.builder("app", URI.create("http://localhost/cb"), "s", "c".repeat(43),
        SmartScopes.parse("openid")).browserBinding("b").remoteAddress("198.51.100.1").build();

    PendingSignIn back = StateJson.signIn(StateJson.write(p), 0);

    assertThat(back).isEqualTo(p);
    assertThat(back.nonce()).isEmpty();
    assertThat(back.sessionId()).isEmpty();
  }

  @Test
  void grant_fullAndMinimal_roundTrip() {
    AuthorizationGrant full = AuthorizationGrant.builder("app", SmartScopes.parse("openid offline_access"), USER)
        .redirectUri(URI.create("http://localhost/cb")).codeChallenge("c".repeat(43)).sessionId("s")
        .nonce("n").build();
    AuthorizationGrant minimal = AuthorizationGrant.builder("backend", SmartScopes.parse("system/*.rs"),
        new AuthenticatedUser("backend", null, null)).build();

    assertThat(StateJson.grant(StateJson.write(full))).isEqualTo(full);
    assertThat(StateJson.grant(StateJson.write(minimal))).isEqualTo(minimal);
    assertThat(StateJson.grant(StateJson.write(minimal)).redirectUri()).isEmpty();
  }

  @Test
  void user_roundTripKeepsDisplayName() {
    AuthenticatedUser back = StateJson.user(StateJson.write(USER));

    assertThat(back).isEqualTo(USER);
    assertThat(back.displayName()).isEqualTo("Dr A");
    assertThat(back.fhirUser()).contains("Practitioner/1");
  }
}
