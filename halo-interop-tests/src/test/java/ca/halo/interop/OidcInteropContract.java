package ca.halo.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloResponseException;
import ca.halo.core.SmartConfiguration;
import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.server.authz.UpstreamOidcUserAuthenticator;
import ca.halo.server.security.IntrospectionTokenValidator;
import ca.halo.server.sofa.SofaServer;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenIntrospection;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SetContextRequest;
import ca.halo.sofa.SofaClient;
import ca.halo.sofa.SofaResponseException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the SDK must do against any jurisdictional OpenID provider; each provider's test class
 * starts its provider with the same clients (halo-emr, halo-short, other-app, halo-backend, sofa,
 * sofa-rp) and the same test user, then runs all of these.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OidcInteropContract {
  protected static final URI EMR_REDIRECT = URI.create("http://127.0.0.1:9/emr/callback");
  protected ProviderProcess provider;
  protected URI issuer;
  protected ECKey backendKey;
  protected int sofaPort;

  /** The login name and password of the provider's test user. */
  protected abstract String[] user();

  /** The provider's RFC 7662 endpoint. */
  protected abstract URI introspectionEndpoint();

  /** The fhirUser value the provider puts in its tokens. */
  protected abstract String fhirUser();

  /** Prepares the backend key and the SoFA port the provider's configuration names. */
  protected void prepare() throws Exception {
    backendKey = new ECKeyGenerator(Curve.P_384).keyID("backend-1").algorithm(JWSAlgorithm.ES384)
        .keyUse(com.nimbusds.jose.jwk.KeyUse.SIGNATURE).generate();
    sofaPort = ProviderProcess.freePort();
  }

  @AfterAll
  void stopProvider() {
    if (provider != null) {
      provider.close();
    }
  }

  protected SmartAppClient publicClient(String id) {
    SmartAppClient c = SmartAppClient.builder().clientAuthentication(ClientAuthentication.publicClient(id))
        .redirectUri(EMR_REDIRECT).build();
    c.discoverOpenIdProvider(issuer);
    return c;
  }

  protected TokenSet login(SmartAppClient c, String scopes) throws Exception {
    AuthorizationRedirect r = c.beginStandaloneLaunch(issuer, SmartScopes.parse(scopes));
    URI back = new FormLogin().login(r.uri(), user()[0], user()[1], EMR_REDIRECT.toString());
    return c.completeAuthorization(r.pending(), back);
  }

  @Test
  void authorizationCodePkce_idTokenValidated_refreshRotates() throws Exception {
    try (SmartAppClient emr = publicClient("halo-emr")) {
      TokenSet t = login(emr, "openid context-write");
      assertThat(t.idToken()).isPresent();
      assertThat(t.fhirUser()).contains(fhirUser());
      assertThat(t.scopes().contains("context-write")).isTrue();
      TokenSet refreshed = emr.refresh(issuer, t);
      assertThat(refreshed.accessToken()).isNotEqualTo(t.accessToken());
      assertThat(refreshed.refreshToken()).isPresent().isNotEqualTo(t.refreshToken());
      // rotation: the first refresh token is spent
      assertThatThrownBy(() -> emr.refresh(issuer, t))
          .isInstanceOfSatisfying(HaloResponseException.class, e -> assertThat(e.oauthError()).contains("invalid_grant"));
    }
  }

  @Test
  void discovery_providerMetadata_usableAndPlainDropped() {
    try (SmartAppClient emr = publicClient("halo-emr")) {
      SmartConfiguration c = emr.discover(issuer);
      assertThat(c.codeChallengeMethodsSupported()).containsExactly("S256");
      assertThat(c.issuer()).contains(issuer);
      assertThat(c.introspectionEndpoint()).isPresent();
    }
  }

  @Test
  void backendServices_privateKeyJwtEs384() throws Exception {
    try (SmartAppClient backend = SmartAppClient.builder()
        .clientAuthentication(ClientAuthentication.privateKeyJwtFromJwk("halo-backend", backendKey.toJSONString())).build()) {
      backend.discoverOpenIdProvider(issuer);
      TokenSet t = backend.clientCredentials(issuer, SmartScopes.empty().with(ca.halo.core.SmartScope.parse("context-write")));
      assertThat(t.accessToken().value()).isNotBlank();
      try (SmartAppClient sofa = SmartAppClient.builder()
          .clientAuthentication(ClientAuthentication.clientSecretBasic("sofa", "sofa-introspection-secret-01")).build()) {
        sofa.discoverOpenIdProvider(issuer);
        TokenIntrospection i = sofa.introspect(issuer, t.accessToken().value());
        assertThat(i.active()).isTrue();
        assertThat(i.clientId()).contains("halo-backend");
      }
    }
  }

  @Test
  void introspectionAndRevocation() throws Exception {
    try (SmartAppClient emr = publicClient("halo-emr");
        SmartAppClient sofa = SmartAppClient.builder()
            .clientAuthentication(ClientAuthentication.clientSecretBasic("sofa", "sofa-introspection-secret-01")).build()) {
      sofa.discoverOpenIdProvider(issuer);
      TokenSet t = login(emr, "openid context-write");
      TokenIntrospection live = sofa.introspect(issuer, t.accessToken().value());
      assertThat(live.active()).isTrue();
      assertThat(live.scopes().contains("context-write")).isTrue();
      emr.revoke(issuer, t.refreshToken().orElseThrow(), true);
      assertThat(sofa.introspect(issuer, t.accessToken().value()).active()).isFalse();
    }
  }

  @Test
  void sofaTokenValidation_acceptsProviderTokens_refusesRevokedExpiredWrongAudience() throws Exception {
    IntrospectionTokenValidator validator = IntrospectionTokenValidator.builder(
            introspectionEndpoint(), "sofa", "sofa-introspection-secret-01")
        .audience("sofa").cacheTtl(Duration.ZERO).build();
    try (SofaServer sofa = SofaServer.builder().users(new FormUserAuthenticator()).externalTokenValidator(validator)
            .contextWriteScopes(Set.of("context-write")).subscriptions(false).build().start();
        SmartAppClient emr = publicClient("halo-emr");
        SmartAppClient shortLived = publicClient("halo-short");
        SmartAppClient other = publicClient("other-app")) {
      TokenSet good = login(emr, "openid context-write");
      assertThat(setContext(sofa, good)).isTrue();
      // revoked at the provider
      emr.revoke(issuer, good.refreshToken().orElseThrow(), true);
      assertThatThrownBy(() -> setContext(sofa, good)).isInstanceOf(SofaResponseException.Unauthenticated.class);
      // meant for another audience
      TokenSet foreign = login(other, "openid context-write");
      assertThatThrownBy(() -> setContext(sofa, foreign)).isInstanceOf(SofaResponseException.Unauthenticated.class);
      // expired (2 s lifetime)
      TokenSet brief = login(shortLived, "openid context-write");
      assertThat(setContext(sofa, brief)).isTrue();
      new CountDownLatch(1).await(3, TimeUnit.SECONDS);
      assertThatThrownBy(() -> setContext(sofa, brief)).isInstanceOf(SofaResponseException.Unauthenticated.class);
    }
    validator.close();
  }

  private static boolean setContext(SofaServer sofa, TokenSet t) {
    try (SofaClient c = SofaClient.builder().fhirBase(sofa.fhirBase())
        .tokens(AccessTokenProvider.fixed(t.accessToken())).build()) {
      Patient p = new Patient();
      p.setId("kc-p1");
      p.addName().setFamily("Interop");
      return !c.setContext(SetContextRequest.builder().patient(p).build()).launchId().isBlank();
    }
  }

  @Test
  void sofaAuthorizationServer_signsClinicianInThroughProvider() throws Exception {
    UpstreamOidcUserAuthenticator users = UpstreamOidcUserAuthenticator.builder(issuer, "sofa-rp",
        "sofa-rp-secret-0123456789").scope("openid").build();
    InMemoryClientRegistry clients = new InMemoryClientRegistry().register(RegisteredClient.builder("emr")
        .redirectUri(EMR_REDIRECT).allowedScopes(SmartScopes.parse("openid fhirUser user/Context.write")).build());
    try (SofaServer sofa = SofaServer.builder().port(sofaPort).clients(clients).users(users)
            .subscriptions(false).build().start();
        SmartAppClient emr = SmartAppClient.builder().clientAuthentication(ClientAuthentication.publicClient("emr"))
            .redirectUri(EMR_REDIRECT).build()) {
      AuthorizationRedirect r = emr.beginStandaloneLaunch(sofa.fhirBase(),
          SmartScopes.parse("openid fhirUser user/Context.write"));
      URI back = new FormLogin().login(r.uri(), user()[0], user()[1], EMR_REDIRECT.toString());
      TokenSet t = emr.completeAuthorization(r.pending(), back);
      assertThat(t.fhirUser()).contains(sofa.fhirBase() + "/" + fhirUser());
      assertThat(SignedJWT.parse(t.idToken().orElseThrow()).getJWTClaimsSet().getSubject()).isNotBlank();
    }
  }
}
