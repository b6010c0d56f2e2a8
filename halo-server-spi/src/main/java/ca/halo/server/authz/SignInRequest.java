package ca.halo.server.authz;

import java.net.URI;
import java.util.Objects;

/**
 * What a {@link UserAuthenticator} knows about a sign-in in progress: an opaque interaction id
 * that must come back to {@link #callbackUri()} (as the form field or query parameter
 * {@code interaction}), and the client asking.
 */
public final class SignInRequest {
  private final String interactionId;
  private final URI callbackUri;
  private final String clientId;
  private final String clientName;

  public SignInRequest(String interactionId, URI callbackUri, String clientId, String clientName) {
    this.interactionId = Objects.requireNonNull(interactionId);
    this.callbackUri = Objects.requireNonNull(callbackUri);
    this.clientId = Objects.requireNonNull(clientId);
    this.clientName = clientName == null ? clientId : clientName;
  }

  public String interactionId() { return interactionId; }
  /** Where the sign-in must come back: a form POST or a redirect with {@code interaction}. */
  public URI callbackUri() { return callbackUri; }
  public String clientId() { return clientId; }
  public String clientName() { return clientName; }

  @Override
  public String toString() {
    return "SignInRequest{client=" + clientId + "}";
  }
}
