package ca.halo.server.authz;

import java.util.Map;
import java.util.Optional;

/**
 * Signs a user in at the authorization endpoint. The authorization server calls
 * {@link #start(SignInRequest)} when a user must sign in, then {@link #resume(SignInRequest, Map)}
 * with what came back to the callback (form fields or query parameters), until a step is
 * {@code AUTHENTICATED} or {@code FAILED}.
 *
 * <p>Implementations: {@link FormUserAuthenticator} (configured test users, for the sandbox) and
 * {@link UpstreamOidcUserAuthenticator} (delegates to the jurisdiction's OpenID provider).
 * Implementations are thread-safe and carry no servlet types.
 */
public interface UserAuthenticator {
  SignInStep start(SignInRequest request);

  SignInStep resume(SignInRequest request, Map<String, String> params);

  /**
   * The account a callback tries credentials for (the user name as typed, normalised), when it
   * carries credentials this authenticator checks itself; the authorization server then limits
   * the attempts per account, for known and unknown names alike. Empty (the default) when the
   * credentials are checked elsewhere, as with an upstream OpenID provider.
   */
  default Optional<String> accountKey(Map<String, String> params) {
    return Optional.empty();
  }
}
