package ca.halo.core.auth;

/**
 * Obtains a new access token, for {@link RefreshingAccessTokenProvider}: a refresh-token grant,
 * a client-credentials grant, or anything else that yields a token.
 */
@FunctionalInterface
public interface TokenSource {
  /**
   * Obtains a new token.
   *
   * @param current the token held now, or {@code null} on the first call
   * @throws ca.halo.core.HaloException if no token can be had
   */
  AccessToken fetch(AccessToken current);
}
