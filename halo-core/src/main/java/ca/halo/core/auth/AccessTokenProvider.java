package ca.halo.core.auth;

import java.util.Objects;

/**
 * Supplies the bearer token for outgoing requests.
 *
 * <p>Contract: {@link #token()} returns a token that is not about to expire, refreshing ahead of
 * expiry when it can. When a server answers 401 to a request sent with token {@code t}, the SDK
 * calls {@link #refreshAfterRejection(AccessToken)} once with {@code t} and retries once with the
 * token it returns; implementations must refresh at most once for many concurrent rejections of
 * the same token (single flight).
 *
 * <p>Implementations are thread-safe. {@link RefreshingAccessTokenProvider} implements the
 * contract over any token source; halo-sof-client supplies sources for the authorization-code and
 * client-credentials grants.
 */
public interface AccessTokenProvider {
  /** The token to send now. */
  AccessToken token();

  /**
   * Called after a server refused {@code rejected}. Returns a fresh token, or {@code rejected}
   * itself when no refresh is possible (the SDK then gives up and reports the 401).
   */
  AccessToken refreshAfterRejection(AccessToken rejected);

  /** A provider that always answers {@code token} and cannot refresh. */
  static AccessTokenProvider fixed(AccessToken token) {
    Objects.requireNonNull(token, "token");
    return new AccessTokenProvider() {
      @Override
      public AccessToken token() {
        return token;
      }

      @Override
      public AccessToken refreshAfterRejection(AccessToken rejected) {
        return rejected;
      }

      @Override
      public String toString() {
        return "AccessTokenProvider.fixed";
      }
    };
  }
}
