package ca.halo.server.observe;

import java.time.Duration;

/**
 * Hears what a SoFA does, for metrics: every HTTP request (by route, never by its path, so the
 * labels stay few), every token request (by grant type and outcome) and every notification sent.
 * Called on the request or delivery thread: implementations are thread-safe, quick and must not
 * throw. Nothing passed here is a token, an id or patient data.
 *
 * <pre>{@code
 * SofaServer.builder().observer(new SofaObserver() {
 *   public void request(String method, String route, int status, Duration time) { ... }
 * })
 * }</pre>
 */
public interface SofaObserver {
  /** Hears nothing. */
  SofaObserver NONE = new SofaObserver() {};

  /**
   * One HTTP request answered.
   *
   * @param method GET, POST, PUT, DELETE, OPTIONS or OTHER
   * @param route the route template, e.g. {@code /fhir/{type}/{id}}, {@code /auth/token}
   * @param status the HTTP status sent
   */
  default void request(String method, String route, int status, Duration time) {}

  /**
   * One request to the token endpoint.
   *
   * @param grantType authorization_code, refresh_token, client_credentials or other
   * @param outcome {@code issued}, or the OAuth error code (e.g. {@code invalid_grant})
   */
  default void tokenRequest(String grantType, String outcome) {}

  /**
   * One notification of events sent (or tried) to a subscriber.
   *
   * @param channel rest-hook or websocket
   * @param delivered whether the subscriber took it
   * @param lag from the oldest event it carries being numbered to this send
   */
  default void notification(String channel, boolean delivered, Duration lag) {}
}
