package ca.halo.sofaserver.internal;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.TokenSource;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.http.NimbusHttp;
import com.nimbusds.oauth2.sdk.ClientCredentialsGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import java.net.URI;
import java.time.Clock;
import java.util.Objects;

/**
 * The SoFA's own tokens at a remote FHIR server: an OAuth client-credentials grant with
 * {@code client_secret_basic} at a fixed token endpoint. Thread-safe (stateless).
 */
public final class ClientCredentialsTokenSource implements TokenSource {
  private final HaloHttp http;
  private final URI tokenUrl;
  private final String clientId;
  private final String secret;
  private final String scope;
  private final Clock clock;

  public ClientCredentialsTokenSource(HaloHttp http, URI tokenUrl, String clientId, String secret,
      String scope, Clock clock) {
    this.http = Objects.requireNonNull(http);
    this.tokenUrl = Objects.requireNonNull(tokenUrl);
    this.clientId = Objects.requireNonNull(clientId);
    this.secret = Objects.requireNonNull(secret);
    this.scope = scope;
    this.clock = Objects.requireNonNull(clock);
  }

  @Override
  public AccessToken fetch(AccessToken current) {
    http.checkTransport(tokenUrl);
    TokenRequest request = new TokenRequest(tokenUrl,
        new ClientSecretBasic(new ClientID(clientId), new Secret(secret)),
        new ClientCredentialsGrant(), scope == null ? null : Scope.parse(scope));
    HTTPResponse r = NimbusHttp.send(http, request.toHTTPRequest(), "token request");
    TokenResponse parsed;
    try {
      parsed = TokenResponse.parse(r);
    } catch (ParseException e) {
      throw new HaloParseException("the token endpoint " + tokenUrl + " answered HTTP "
          + r.getStatusCode() + " with no valid token response", e);
    }
    if (!parsed.indicatesSuccess()) {
      ErrorObject err = parsed.toErrorResponse().getErrorObject();
      throw HaloResponseException.oauth("the token endpoint " + tokenUrl + " refused the SoFA's"
          + " client credentials", r.getStatusCode(), err.getCode(), err.getDescription());
    }
    com.nimbusds.oauth2.sdk.token.AccessToken t =
        parsed.toSuccessResponse().getTokens().getAccessToken();
    return t.getLifetime() > 0
        ? AccessToken.of(t.getValue(), clock.instant().plusSeconds(t.getLifetime()))
        : AccessToken.withoutExpiry(t.getValue());
  }

  @Override
  public String toString() {
    return "ClientCredentialsTokenSource{" + tokenUrl + ", client=" + clientId + "}";
  }
}
