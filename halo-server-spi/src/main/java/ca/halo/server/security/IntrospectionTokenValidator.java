package ca.halo.server.security;

import ca.halo.core.HaloResponseException;
import ca.halo.core.SmartScopes;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.Json;
import ca.halo.core.internal.http.NimbusHttp;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.oauth2.sdk.TokenIntrospectionRequest;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.TypelessAccessToken;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Validates tokens by RFC 7662 introspection at the jurisdictional IdP, authenticating with
 * {@code client_secret_basic}. Answers are cached briefly (default 30 s, never past the token's
 * {@code exp}), keyed by a SHA-256 of the token, in a bounded LRU map.
 *
 * <pre>{@code
 * AccessTokenValidator v = IntrospectionTokenValidator.builder(introspectionUri, "sofa", secret)
 *     .audience("https://sofa.example.ca/fhir").build();
 * }</pre>
 *
 * <p>Every unknown token costs a call to the IdP, and the SoFA validates tokens of callers it
 * does not know yet: at most {@code maxConcurrentCalls} introspections run at once (default 16),
 * and a validation that cannot get a turn within a second fails like an unreachable IdP. Negative
 * answers go to a cache of their own, so a flood of invented tokens cannot push the valid ones
 * out.
 *
 * <p>Thread-safe. An unreachable IdP raises {@link ca.halo.core.HaloTransportException} (the
 * SoFA answers 503), never a silent accept.
 */
public final class IntrospectionTokenValidator implements AccessTokenValidator, AutoCloseable {
  private final URI endpoint;
  private final ClientSecretBasic auth;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final Duration cacheTtl;
  private final int cacheSize;
  private final String audience;
  private final Clock clock;
  private final Map<String, CacheEntry> cache;
  private final Map<String, CacheEntry> negative;
  private final java.util.concurrent.Semaphore calls;

  private record CacheEntry(Optional<Principal> principal, Instant until) {}

  private IntrospectionTokenValidator(Builder b) {
    this.endpoint = b.endpoint;
    this.auth = new ClientSecretBasic(new ClientID(b.clientId), new Secret(b.secret));
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    this.cacheTtl = b.cacheTtl;
    this.cacheSize = b.cacheSize;
    this.audience = b.audience;
    this.clock = b.clock;
    this.cache = lru(cacheSize);
    this.negative = lru(Math.max(100, cacheSize / 10));
    this.calls = new java.util.concurrent.Semaphore(b.maxConcurrentCalls);
  }

  private static Map<String, CacheEntry> lru(int capacity) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, CacheEntry> eldest) {
        return size() > capacity;
      }
    };
  }

  public static Builder builder(URI endpoint, String clientId, String secret) {
    return new Builder(endpoint, clientId, secret);
  }

  @Override
  public Optional<Principal> validate(String token) {
    if (token == null || token.isBlank()) {
      return Optional.empty();
    }
    String key = sha256(token);
    Instant now = clock.instant();
    synchronized (cache) {
      CacheEntry e = cache.get(key);
      if (e == null) {
        e = negative.get(key);
      }
      if (e != null && now.isBefore(e.until())) {
        return e.principal();
      }
    }
    boolean turn;
    try {
      turn = calls.tryAcquire(1, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      turn = false;
    }
    if (!turn) {
      throw new ca.halo.core.HaloTransportException("token introspection: too many calls to the"
          + " IdP in flight; retry shortly");
    }
    HTTPResponse r;
    try {
      r = NimbusHttp.send(http,
          new TokenIntrospectionRequest(endpoint, auth, new TypelessAccessToken(token))
              .toHTTPRequest(), "token introspection");
    } finally {
      calls.release();
    }
    if (r.getStatusCode() != 200) {
      throw HaloResponseException.http("the IdP's introspection endpoint answered HTTP "
          + r.getStatusCode() + ": check the SoFA's introspection credentials",
          r.getStatusCode());
    }
    ObjectNode o = Json.parseObject(r.getBody(), "introspection response");
    Optional<Principal> p = toPrincipal(o, now);
    Instant until = now.plus(cacheTtl);
    if (p.isPresent() && p.get().expiresAt().isPresent() && p.get().expiresAt().get().isBefore(until)) {
      until = p.get().expiresAt().get();
    }
    synchronized (cache) {
      (p.isPresent() ? cache : negative).put(key, new CacheEntry(p, until));
    }
    return p;
  }

  private Optional<Principal> toPrincipal(ObjectNode o, Instant now) {
    JsonNode active = o.get("active");
    if (active == null || !active.asBoolean(false)) {
      return Optional.empty();
    }
    JsonNode exp = o.get("exp");
    Instant expiresAt = exp != null && exp.canConvertToLong() ? Instant.ofEpochSecond(exp.asLong()) : null;
    if (expiresAt != null && !now.isBefore(expiresAt)) {
      return Optional.empty();
    }
    if (audience != null) {
      JsonNode aud = o.get("aud");
      boolean ok = aud != null && (aud.isTextual() ? aud.asText().equals(audience)
          : aud.isArray() && java.util.stream.StreamSupport.stream(aud.spliterator(), false)
              .anyMatch(a -> a.asText().equals(audience)));
      if (!ok) {
        return Optional.empty();
      }
    }
    String clientId = text(o, "client_id");
    if (clientId == null) {
      clientId = text(o, "azp");
    }
    SmartScopes scopes;
    try {
      scopes = SmartScopes.parse(text(o, "scope"));
    } catch (IllegalArgumentException e) {
      scopes = SmartScopes.empty();
    }
    return Optional.of(Principal.builder(clientId == null ? "unknown" : clientId)
        .subject(text(o, "sub")).scopes(scopes).sessionId(text(o, "halo_session"))
        .patient(text(o, "patient")).fhirUser(text(o, "fhirUser")).expiresAt(expiresAt)
        .tokenId(text(o, "jti")).issuer(text(o, "iss")).build());
  }

  private static String text(ObjectNode o, String f) {
    JsonNode n = o.get(f);
    return n == null || n.isNull() ? null : n.asText();
  }

  private static String sha256(String s) {
    try {
      return Base64.getEncoder().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (ownsHttp) {
      http.close();
    }
  }

  /** Builds an {@link IntrospectionTokenValidator}. */
  public static final class Builder {
    private final URI endpoint;
    private final String clientId;
    private final String secret;
    private HaloHttp http;
    private Duration cacheTtl = Duration.ofSeconds(30);
    private int cacheSize = 10_000;
    private int maxConcurrentCalls = 16;
    private String audience;
    private boolean anyAudience;
    private Clock clock = Clock.systemUTC();

    private Builder(URI endpoint, String clientId, String secret) {
      this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
      this.clientId = Objects.requireNonNull(clientId, "clientId");
      this.secret = Objects.requireNonNull(secret, "secret");
    }

    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    /** How long an answer is reused. Default 30 s; zero turns caching off. */
    public Builder cacheTtl(Duration v) { this.cacheTtl = Objects.requireNonNull(v); return this; }
    public Builder cacheSize(int v) {
      if (v <= 0) {
        throw new IllegalArgumentException("cacheSize must be positive");
      }
      this.cacheSize = v;
      return this;
    }
    /** Introspection calls in flight at once. Default 16. */
    public Builder maxConcurrentCalls(int v) {
      if (v <= 0) {
        throw new IllegalArgumentException("maxConcurrentCalls must be positive");
      }
      this.maxConcurrentCalls = v;
      return this;
    }
    /**
     * The audience the introspection answer's {@code aud} must contain: the SoFA's FHIR base (or
     * the name the IdP gives the SoFA). Required, so that a token the IdP issued for another
     * resource server is never accepted here.
     */
    public Builder audience(String v) { this.audience = Objects.requireNonNull(v); return this; }
    /**
     * Accepts tokens whatever their audience. Unsafe: any token of the IdP, meant for any
     * service, then works at the SoFA. Only for an IdP that issues one audience.
     */
    public Builder unsafeAnyAudience() { this.anyAudience = true; return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }

    public IntrospectionTokenValidator build() {
      if (audience == null && !anyAudience) {
        throw new IllegalStateException("audience is required (the SoFA's FHIR base, as the IdP"
            + " names it): without it a token for another service would be accepted; see"
            + " unsafeAnyAudience()");
      }
      return new IntrospectionTokenValidator(this);
    }
  }
}
