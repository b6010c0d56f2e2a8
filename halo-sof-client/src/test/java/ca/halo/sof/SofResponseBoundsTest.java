package ca.halo.sof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ca.halo.core.HaloTransportException;
import ca.halo.core.SmartScopes;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.http.NimbusHttp;
import ca.halo.core.testkit.HostileHttpServer;
import ca.halo.core.testkit.HostileHttpServer.Mode;
import java.net.URI;
import java.time.Duration;
import java.util.Date;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A hostile server answering discovery, the token request or the JWKS with 1 GiB, an endless
 * chunked body or an endless close-delimited body: {@link SmartAppClient} fails with
 * {@link HaloTransportException} after reading about {@link NimbusHttp#MAX_BODY}, never the lot.
 */
class SofResponseBoundsTest {
  private static final long SLACK = 16L << 20;
  private static final long SERVER_CAP = 512L << 20;
  private static final Duration BOUND = Duration.ofSeconds(20);
  private static final URI REDIRECT = URI.create("http://localhost:9999/callback");

  private static SmartAppClient client(HaloHttp http) {
    return SmartAppClient.builder().http(http)
        .clientAuthentication(ClientAuthentication.clientSecretBasic("app", "s3cret"))
        .redirectUri(REDIRECT).build();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void discover_hostileBody_transportErrorNearTheCap(Mode mode) throws Exception {
    try (HostileHttpServer s = new HostileHttpServer(mode, "{\"capabilities\":[", "\"x\",",
            SERVER_CAP);
        HaloHttp http = HaloHttp.defaults()) {
      SmartAppClient sof = client(http);
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> sof.discover(s.url("/fhir")))
          .isInstanceOf(HaloTransportException.class).hasMessageContaining("larger than"));
      assertThat(s.bytesWritten()).isLessThan(NimbusHttp.MAX_BODY + SLACK);
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void tokenRequest_hostileBody_transportErrorNearTheCap(Mode mode) throws Exception {
    try (ScriptedAuthServer as = new ScriptedAuthServer();
        HostileHttpServer s = new HostileHttpServer(mode, "{\"access_token\":\"", "aaaaaaaa",
            SERVER_CAP);
        HaloHttp http = HaloHttp.defaults()) {
      as.smartConfigOverride = as.smartConfig().replace(as.base() + "/token",
          s.url("/token").toString());
      SmartAppClient sof = client(http);
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(
              () -> sof.clientCredentials(as.iss(), SmartScopes.parse("system/*.rs")))
          .isInstanceOf(HaloTransportException.class).hasMessageContaining("larger than"));
      assertThat(s.bytesWritten()).isLessThan(NimbusHttp.MAX_BODY + SLACK);
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void jwks_hostileBody_transportErrorNearTheCap(Mode mode) throws Exception {
    try (ScriptedAuthServer as = new ScriptedAuthServer();
        HostileHttpServer s = new HostileHttpServer(mode, "{\"keys\":[", "{\"kty\":\"RSA\"},",
            SERVER_CAP);
        HaloHttp http = HaloHttp.defaults()) {
      as.smartConfigOverride = as.smartConfig().replace(as.base() + "/jwks",
          s.url("/jwks").toString());
      SmartAppClient sof = client(http);
      AuthorizationRedirect r = sof.beginEhrLaunch(as.iss(), "l",
          SmartScopes.parse("launch openid patient/*.rs"));
      String idToken = as.idToken(as.signingKey, "app", r.pending().nonce().orElseThrow(),
          new Date(System.currentTimeMillis() + 300_000), null);
      as.tokenHandler = f -> ScriptedAuthServer.json(200, "{\"access_token\":\"at\","
          + "\"token_type\":\"Bearer\",\"scope\":\"launch openid patient/*.rs\",\"id_token\":\""
          + idToken + "\"}");
      URI callback = URI.create(REDIRECT + "?code=c&state=" + r.pending().state());
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(
              () -> sof.completeAuthorization(r.pending(), callback))
          .isInstanceOf(HaloTransportException.class).hasMessageContaining("larger than"));
      assertThat(s.bytesWritten()).isLessThan(NimbusHttp.MAX_BODY + SLACK);
    }
  }
}
