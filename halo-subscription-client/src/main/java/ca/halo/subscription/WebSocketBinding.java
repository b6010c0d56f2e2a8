package ca.halo.subscription;

import java.net.URI;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The answer of {@code $get-ws-binding-token}: the token, when it stops being accepted (if the
 * server said), and the websocket URL to bind on. Immutable; {@link #toString()} never prints the
 * token.
 */
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
  /** When the token expires; empty when the server sent no (or an empty) {@code expiration}. */
  public Optional<Instant> expiration() { return Optional.ofNullable(expiration); }
  public URI websocketUrl() { return websocketUrl; }

  @Override
  public boolean equals(Object o) {
    return o instanceof WebSocketBinding && ((WebSocketBinding) o).token.equals(token)
        && Objects.equals(((WebSocketBinding) o).expiration, expiration)
        && ((WebSocketBinding) o).websocketUrl.equals(websocketUrl);
  }

  @Override
  public int hashCode() {
    return Objects.hash(token, expiration, websocketUrl);
  }

  @Override
  public String toString() {
    return "WebSocketBinding{url=" + websocketUrl + ", expiration=" + expiration + "}";
  }
}
