package ca.halo.server.security;

import ca.halo.core.SmartScopes;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.URI;
import java.text.ParseException;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Validates JWT access tokens locally: signature against a JWK set, {@code iss}, {@code aud},
 * {@code exp}/{@code nbf} (with 60 s skew), and an optional revocation check.
 *
 * <pre>{@code
 * AccessTokenValidator v = JwtTokenValidator.builder(() -> jwks)
 *     .issuer(URI.create("https://idp.example.ca/realms/halo"))
 *     .audience("https://sofa.example.ca/fhir")
 *     .build();
 * }</pre>
 *
 * <p>Thread-safe. Claims read: {@code client_id} (or {@code azp}), {@code sub}, {@code scope}
 * (space-separated) or {@code scp} (array), {@code halo_session}, {@code patient},
 * {@code fhirUser}.
 */
public final class JwtTokenValidator implements AccessTokenValidator {
  private static final Set<JWSAlgorithm> ALGS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
      JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.PS256);

  private final Supplier<JWKSet> keys;
  private final String issuer;
  private final String audience;
  private final Predicate<String> revoked;
  private final Clock clock;
  private final DefaultJWTProcessor<SecurityContext> processor;
  /**
   * Tokens already checked (signature, issuer, audience, type), for a minute at most: a client
   * sends the same token with every request, and the check was 8 % of a $set-context's CPU.
   * Expiry and revocation are still checked on every use; bounded, so a flood of distinct valid
   * tokens only evicts.
   */
  private final com.github.benmanes.caffeine.cache.Cache<String, Checked> checked =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(4_096)
          .expireAfterWrite(java.time.Duration.ofMinutes(1)).build();
  private static final java.time.Duration SKEW = java.time.Duration.ofSeconds(60);

  /** A token that passed, and the key it passed with (it must still be in the set). */
  private record Checked(Principal principal, String kid) {}

  private JwtTokenValidator(Builder b) {
    this.keys = b.keys;
    this.issuer = b.issuer;
    this.audience = b.audience;
    this.revoked = b.revoked;
    this.clock = b.clock;
    // Built once (validate() runs on every FHIR request); the key source asks the supplier each
    // time, so rotated keys are still picked up.
    Supplier<JWKSet> fresh = b.freshKeys;
    JWKSource<SecurityContext> src = (selector, context) -> {
      java.util.List<com.nimbusds.jose.jwk.JWK> found = selector.select(keys.get());
      return found.isEmpty() && fresh != null ? selector.select(fresh.get()) : found;
    };
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    Set<JWSAlgorithm> algs = ALGS;
    if (b.ownHmac) {
      algs = new java.util.HashSet<>(ALGS);
      algs.add(JWSAlgorithm.HS256);
    }
    // An HS256 token is checked only against the symmetric (oct) keys of the set, an RS/ES/PS one
    // only against its public keys: Nimbus selects keys by the algorithm's key type, so a public
    // key can never serve as an HMAC secret.
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(algs, src));
    p.setJWSTypeVerifier(new com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier<>(
        com.nimbusds.jose.JOSEObjectType.JWT, new com.nimbusds.jose.JOSEObjectType("at+jwt"),
        null));
    p.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(
        audience, new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("exp", "sub")) {
      @Override
      protected java.util.Date currentTime() {
        return java.util.Date.from(clock.instant());
      }
    });
    this.processor = p;
  }

  /** @param keys supplies the current JWK set (it may refresh it; it is called per token) */
  public static Builder builder(Supplier<JWKSet> keys) {
    return new Builder(keys);
  }

  @Override
  public Optional<Principal> validate(String token) {
    if (token == null || token.chars().filter(c -> c == '.').count() != 2) {
      return Optional.empty();
    }
    Checked hit = checked.getIfPresent(token);
    if (hit != null) {
      // what can change since: the time (exp, with the processor's 60 s skew), revocation, and
      // the key (withdrawn from the set, the token no longer validates)
      Principal known = hit.principal();
      boolean expired = known.expiresAt().map(e -> e.plus(SKEW).isBefore(clock.instant())).orElse(false);
      boolean keyGone = hit.kid() == null || keys.get().getKeyByKeyId(hit.kid()) == null;
      if (expired || keyGone || known.tokenId().map(revoked::test).orElse(false)) {
        checked.invalidate(token);
        if (keyGone && !expired) {
          return validateUncached(token);
        }
        return Optional.empty();
      }
      return Optional.of(known);
    }
    return validateUncached(token);
  }

  private Optional<Principal> validateUncached(String token) {
    JWTClaimsSet claims;
    String kid;
    try {
      // parsed once: the processor checks it, and its header names the key the cache remembers
      com.nimbusds.jwt.SignedJWT jwt = com.nimbusds.jwt.SignedJWT.parse(token);
      kid = jwt.getHeader().getKeyID();
      claims = processor.process(jwt, null);
    } catch (ParseException | BadJOSEException | com.nimbusds.jose.JOSEException e) {
      return Optional.empty();
    }
    if (claims.getJWTID() != null && revoked.test(claims.getJWTID())) {
      return Optional.empty();
    }
    Principal p = toPrincipal(claims);
    if (claims.getNotBeforeTime() == null && kid != null) {
      checked.put(token, new Checked(p, kid));
    }
    return Optional.of(p);
  }

  static Principal toPrincipal(JWTClaimsSet c) {
    Object clientId = c.getClaim("client_id");
    if (clientId == null) {
      clientId = c.getClaim("azp");
    }
    String scope = null;
    Object s = c.getClaim("scope");
    if (s instanceof String) {
      scope = (String) s;
    } else if (c.getClaim("scp") instanceof Collection) {
      scope = String.join(" ", ((Collection<?>) c.getClaim("scp")).stream()
          .map(String::valueOf).toList());
    }
    // One malformed token is dropped on its own: it must neither widen nor wipe the others.
    List<ca.halo.core.SmartScope> parsed = new java.util.ArrayList<>();
    if (scope != null && !scope.isBlank()) {
      for (String t : scope.trim().split("\\s+")) {
        try {
          parsed.add(ca.halo.core.SmartScope.parse(t));
        } catch (IllegalArgumentException e) {
          // not a scope this server understands: grants nothing
        }
      }
    }
    SmartScopes scopes = SmartScopes.of(parsed);
    return Principal.builder(clientId == null ? "unknown" : clientId.toString())
        .subject(c.getSubject())
        .scopes(scopes)
        .sessionId(str(c.getClaim("halo_session")))
        .patient(str(c.getClaim("patient")))
        .fhirUser(str(c.getClaim("fhirUser")))
        .expiresAt(c.getExpirationTime() == null ? null : c.getExpirationTime().toInstant())
        .tokenId(c.getJWTID())
        .issuer(c.getIssuer())
        .build();
  }

  private static String str(Object o) {
    return o == null ? null : o.toString();
  }

  /** Builds a {@link JwtTokenValidator}. */
  public static final class Builder {
    private final Supplier<JWKSet> keys;
    private String issuer;
    private String audience;
    private Predicate<String> revoked = jti -> false;
    private Supplier<JWKSet> freshKeys;
    private Clock clock = Clock.systemUTC();
    private boolean ownHmac;

    private Builder(Supplier<JWKSet> keys) {
      this.keys = Objects.requireNonNull(keys, "keys");
    }

    public Builder issuer(URI v) { this.issuer = v.toString(); return this; }
    /** The audience the token must name; usually the FHIR base. */
    public Builder audience(String v) { this.audience = Objects.requireNonNull(v); return this; }
    /**
     * Where to look again when a token names a key the current set lacks (a key another node
     * added since); it may refuse to re-read more than once a second.
     */
    public Builder keysOnUnknownKid(Supplier<JWKSet> v) { this.freshKeys = Objects.requireNonNull(v); return this; }
    /** A check by {@code jti} for tokens revoked before they expire. */
    public Builder revoked(Predicate<String> v) { this.revoked = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /**
     * Also accepts HS256, verified only against the secret ({@code oct}) keys of the key set: for
     * a server checking the access tokens it issued itself. Off by default: a validator of another
     * issuer's tokens accepts asymmetric signatures only (RS256, RS384, PS256, ES256, ES384).
     */
    public Builder acceptOwnHmac(boolean v) { this.ownHmac = v; return this; }

    public JwtTokenValidator build() {
      if (issuer == null || audience == null) {
        throw new IllegalStateException("issuer and audience are required");
      }
      return new JwtTokenValidator(this);
    }
  }

  static List<String> algorithms() {
    return ALGS.stream().map(JWSAlgorithm::getName).sorted().toList();
  }
}
