package ca.halo.server.security;

import java.util.Optional;

/**
 * Validates the bearer token of an incoming request.
 *
 * <p>Implementations: {@link IntrospectionTokenValidator} (RFC 7662 against the jurisdictional
 * IdP, short bounded cache), {@link JwtTokenValidator} (signature against a JWKS, issuer,
 * audience, expiry), and the SoFA authorization server's own validator. Combine them with
 * {@link #firstOf(AccessTokenValidator...)}. Implementations are thread-safe.
 *
 * <p>Spec: HALO SoFA flow step 4 (the SoFA validates the PoC's token); RFC 7662; RFC 6750.
 */
public interface AccessTokenValidator {
  /**
   * Validates {@code token}.
   *
   * @return the principal, or empty if the token is unknown, inactive, expired, revoked or meant
   *     for another audience
   * @throws ca.halo.core.HaloException if validation could not be done (the IdP is unreachable)
   */
  Optional<Principal> validate(String token);

  /** Tries each validator in turn; the first that accepts the token wins. */
  static AccessTokenValidator firstOf(AccessTokenValidator... validators) {
    AccessTokenValidator[] copy = validators.clone();
    return token -> {
      for (AccessTokenValidator v : copy) {
        Optional<Principal> p = v.validate(token);
        if (p.isPresent()) {
          return p;
        }
      }
      return Optional.empty();
    };
  }
}
