package ca.halo.server.authz;

import java.util.Map;

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
}
