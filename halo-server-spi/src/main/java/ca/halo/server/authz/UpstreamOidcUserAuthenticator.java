package ca.halo.server.authz;

import ca.halo.core.HaloException;
import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.http.NimbusHttp;
import ca.halo.server.internal.ExpiringTable;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs users in through the jurisdiction's upstream OpenID Connect provider (Keycloak, or any
 * certified OP): the SoFA's authorization server acts as a relying party with authorization code
 * + PKCE, validates the upstream id_token (signature against the OP's JWKS, issuer, audience,
 * expiry, nonce), and maps the upstream claims to the user and their {@code fhirUser}.
 *
 * <pre>{@code
 * UserAuthenticator users = UpstreamOidcUserAuthenticator.builder(
 *         URI.create("https://idp.example.ca/realms/halo"), "sofa", secret)
 *     .fhirUserMapper(claims -> "Practitioner/" + claims.get("practitioner_id"))
 *     .build();
 * }</pre>
 *
 * <p>Register the SoFA's sign-in endpoint ({@code [issuer]/sign-in}) as a redirect URI of the
 * client at the OP. The OP's metadata comes from {@code [upstream]/.well-known/openid-configuration},
 * read once at {@link Builder#build()}. Thread-safe; pending sign-ins are bounded and expire
 * after 10 minutes.
 */
public final class UpstreamOidcUserAuthenticator implements UserAuthenticator {
  private static final Logger LOG = LoggerFactory.getLogger(UpstreamOidcUserAuthenticator.class);
  private static final Set<JWSAlgorithm> ALGS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
      JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.PS256);

  private final OIDCProviderMetadata op;
  private final ClientID clientId;
  private final Secret secret;
  private final HaloHttp http;
  private final Scope scope;
  private final Map<String, String> extraParams;
  private final Function<Map<String, Object>, String> fhirUserMapper;
  private final Clock clock;
  private final ExpiringTable<String, Pending> pending;
  private volatile JWKSet keys;

  private record Pending(String verifier, String nonce, URI redirectUri) {}

  private UpstreamOidcUserAuthenticator(Builder b, OIDCProviderMetadata op) {
    this.op = op;
    this.clientId = new ClientID(b.clientId);
    this.secret = new Secret(b.secret);
    this.http = b.http;
    this.scope = Scope.parse(b.scope);
    this.extraParams = Map.copyOf(b.extraParams);
    this.fhirUserMapper = b.fhirUserMapper;
    this.clock = b.clock;
    this.pending = ExpiringTable.<String, Pending>builder(clock, 100_000).build();
  }

  public static Builder builder(URI upstreamIssuer, String clientId, String clientSecret) {
    return new Builder(upstreamIssuer, clientId, clientSecret);
  }

  @Override
  public SignInStep start(SignInRequest request) {
    CodeVerifier verifier = new CodeVerifier();
    Nonce nonce = new Nonce();
    if (pending.put(request.interactionId(), new Pending(verifier.getValue(), nonce.getValue(),
        request.callbackUri()), clock.instant().plus(Duration.ofMinutes(10))) != ExpiringTable.Put.ADDED) {
      return SignInStep.failed("too many sign-ins are in progress; try again in a few minutes");
    }
    AuthenticationRequest.Builder ab = new AuthenticationRequest.Builder(
        new ResponseType(ResponseType.Value.CODE), scope, clientId, request.callbackUri())
        .endpointURI(op.getAuthorizationEndpointURI())
        .state(new State(request.interactionId()))
        .nonce(nonce)
        .codeChallenge(verifier, CodeChallengeMethod.S256);
    extraParams.forEach(ab::customParameter);
    return SignInStep.redirect(ab.build().toURI());
  }

  @Override
  public SignInStep resume(SignInRequest request, Map<String, String> params) {
    Pending p = pending.remove(request.interactionId()).orElse(null);
    if (p == null) {
      return SignInStep.failed("the upstream sign-in expired; start again");
    }
    if (params.containsKey("error")) {
      return SignInStep.failed("the identity provider refused: " + params.get("error"));
    }
    String code = params.get("code");
    if (code == null) {
      return SignInStep.failed("the identity provider sent no code");
    }
    try {
      TokenRequest tr = new TokenRequest(op.getTokenEndpointURI(), new ClientSecretBasic(clientId, secret),
          new AuthorizationCodeGrant(new AuthorizationCode(code), p.redirectUri(),
              new CodeVerifier(p.verifier())));
      HTTPResponse r = NimbusHttp.send(http, tr.toHTTPRequest(), "upstream token request");
      if (r.getStatusCode() != 200) {
        return SignInStep.failed("the identity provider refused the code (HTTP " + r.getStatusCode() + ")");
      }
      Object idToken = r.getBodyAsJSONObject().get("id_token");
      if (!(idToken instanceof String)) {
        return SignInStep.failed("the identity provider returned no id_token");
      }
      IDTokenClaimsSet claims = validate((String) idToken, p.nonce(), false);
      Map<String, Object> all = new LinkedHashMap<>(claims.toJSONObject());
      String fhirUser = fhirUserMapper.apply(all);
      Object name = all.getOrDefault("name", all.get("preferred_username"));
      LOG.debug("upstream sign-in completed for a user of {}", op.getIssuer());
      return SignInStep.authenticated(new AuthenticatedUser(claims.getSubject().getValue(), fhirUser,
          name == null ? null : name.toString()));
    } catch (HaloException | com.nimbusds.oauth2.sdk.ParseException e) {
      return SignInStep.failed("upstream sign-in failed: " + e.getMessage());
    }
  }

  private IDTokenClaimsSet validate(String idToken, String nonce, boolean refetched) {
    if (keys == null || refetched) {
      HTTPResponse r = NimbusHttp.get(http, op.getJWKSetURI(), "upstream JWKS");
      try {
        keys = JWKSet.parse(r.getBody());
      } catch (java.text.ParseException e) {
        throw new HaloParseException("the identity provider's JWKS is malformed", e);
      }
    }
    IDTokenValidator v = new IDTokenValidator(op.getIssuer(), clientId,
        new JWSVerificationKeySelector<SecurityContext>(ALGS, new ImmutableJWKSet<>(keys)), null);
    try {
      return v.validate(JWTParser.parse(idToken), new Nonce(nonce));
    } catch (com.nimbusds.jose.proc.BadJOSEException e) {
      if (!refetched) {
        return validate(idToken, nonce, true); // the OP may have rotated its keys
      }
      throw new HaloParseException("the upstream id_token is invalid: " + e.getMessage(), e);
    } catch (java.text.ParseException | com.nimbusds.jose.JOSEException e) {
      throw new HaloParseException("the upstream id_token is invalid: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "UpstreamOidcUserAuthenticator{" + op.getIssuer() + ", client=" + clientId + "}";
  }

  /** Builds an {@link UpstreamOidcUserAuthenticator}. */
  public static final class Builder {
    private final URI issuer;
    private final String clientId;
    private final String secret;
    private HaloHttp http;
    private String scope = "openid profile";
    private final Map<String, String> extraParams = new LinkedHashMap<>();
    private Function<Map<String, Object>, String> fhirUserMapper = claims -> {
      Object f = claims.get("fhirUser");
      return f == null ? null : f.toString();
    };
    private Clock clock = Clock.systemUTC();

    private Builder(URI issuer, String clientId, String secret) {
      this.issuer = Objects.requireNonNull(issuer);
      this.clientId = Objects.requireNonNull(clientId);
      this.secret = Objects.requireNonNull(secret);
    }

    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    /** Default {@code openid profile}. */
    public Builder scope(String v) { this.scope = Objects.requireNonNull(v); return this; }
    /** An extra authorization-request parameter some providers need. */
    public Builder authorizeParameter(String name, String value) { this.extraParams.put(name, value); return this; }
    /**
     * Maps the upstream id_token claims to the user's {@code fhirUser} (a relative reference or
     * URL); default: the {@code fhirUser} claim.
     */
    public Builder fhirUserMapper(Function<Map<String, Object>, String> v) { this.fhirUserMapper = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }

    /** Reads the provider's metadata; fails if the provider is unreachable or its metadata is wrong. */
    public UpstreamOidcUserAuthenticator build() {
      if (http == null) {
        http = HaloHttp.defaults();
      }
      String base = issuer.toString().endsWith("/") ? issuer.toString().substring(0, issuer.toString().length() - 1)
          : issuer.toString();
      HTTPResponse r = NimbusHttp.get(http, URI.create(base + "/.well-known/openid-configuration"),
          "OpenID discovery");
      if (r.getStatusCode() != 200) {
        throw HaloResponseException.http("OpenID discovery at " + base + " answered HTTP "
            + r.getStatusCode(), r.getStatusCode());
      }
      try {
        OIDCProviderMetadata md = OIDCProviderMetadata.parse(r.getBody());
        if (!md.getIssuer().equals(new Issuer(base))) {
          throw new HaloParseException("the provider's metadata names issuer " + md.getIssuer()
              + ", not " + base);
        }
        return new UpstreamOidcUserAuthenticator(this, md);
      } catch (com.nimbusds.oauth2.sdk.ParseException e) {
        throw new HaloParseException("the provider's OpenID metadata is malformed: " + e.getMessage(), e);
      }
    }
  }
}
