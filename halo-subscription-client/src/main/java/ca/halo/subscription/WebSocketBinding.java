package ca.halo.subscription;

import java.net.URI;
import java.time.Instant;
import java.util.Objects;

/** The answer of {@code $get-ws-binding-token}. {@link #toString()} never prints the token. */
public final class WebSocketBinding {
  private final String token;
  private final Instant expiration;
  private final URI websocketUrl;

  WebSocketBinding(String token, Instant expiration, URI websocketUrl) {
    this.token = Objects.requireNonNull(token);
    this.expiration = expiration;
    this.websocketUrl = Objects.requireNonNull(websocketUrl);
  }

  public String token() { return token; }
  public Instant expiration() { return expiration; }
  public URI websocketUrl() { return websocketUrl; }

  @Override
  public String toString() {
    return "WebSocketBinding{url=" + websocketUrl + ", expiration=" + expiration + "}";
  }
}
