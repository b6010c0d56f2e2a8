package ca.halo.sof;

import ca.halo.core.HaloParseException;
import ca.halo.core.LaunchContext;
import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.internal.CoreJson;
import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The tokens and launch context of one SMART token response.
 *
 * <pre>{@code
 * TokenSet tokens = sof.completeAuthorization(pending, callbackUri);
 * String patientId = tokens.launchContext().patient().orElseThrow();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #parse(String, Instant)} enforces SMART App Launch 2.1.0
 * section 2.0.8: {@code access_token} present, {@code token_type} {@code Bearer}, {@code scope}
 * present (a server that omits it is taken to have granted nothing beyond what the token allows;
 * we read it as empty). Unknown members are kept and written back by {@link #toJson()}.
 * {@link #toString()} never prints a token.
 */
public final class TokenSet {
  private static final String WHAT = "token response";

  private final ObjectNode raw;
  private final AccessToken accessToken;
  private final SmartScopes scopes;
  private final String refreshToken;
  private final String idToken;
  private final LaunchContext launchContext;
  private final Instant receivedAt;

  private TokenSet(ObjectNode raw, Instant receivedAt) {
    this.raw = raw;
    this.receivedAt = receivedAt;
    String at = Json.requiredString(raw, "access_token", WHAT);
    if (!at.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      // it travels as "Authorization: Bearer <token>", where OkHttp refuses anything else with
      // an IllegalArgumentException on every request (RFC 6750 b64token is stricter still)
      throw new HaloParseException(WHAT + ": access_token must be visible ASCII without spaces"
          + " (RFC 6750 section 2.1)");
    }
    String type = Json.requiredString(raw, "token_type", WHAT);
    if (!type.equalsIgnoreCase("Bearer")) {
      throw new HaloParseException(
          WHAT + ": token_type must be 'Bearer' (SMART 2.1), got '" + type + "'");
    }
    JsonNode exp = raw.get("expires_in");
    if (exp != null && !exp.isNull() && (!exp.canConvertToLong() || exp.asLong() < 0)) {
      throw new HaloParseException(WHAT + ": expires_in must be a non-negative number");
    }
    AccessToken token;
    try {
      token = exp == null || exp.isNull()
          ? AccessToken.withoutExpiry(at)
          : AccessToken.of(at, receivedAt.plusSeconds(exp.asLong()));
    } catch (java.time.DateTimeException | ArithmeticException e) {
      throw new HaloParseException(WHAT + ": expires_in is beyond any representable time", e);
    }
    this.accessToken = token;
    try {
      this.scopes = SmartScopes.parse(Json.optionalString(raw, "scope", WHAT));
    } catch (IllegalArgumentException e) {
      throw new HaloParseException(WHAT + ": " + e.getMessage(), e);
    }
    this.refreshToken = Json.optionalString(raw, "refresh_token", WHAT);
    this.idToken = Json.optionalString(raw, "id_token", WHAT);
    this.launchContext = CoreJson.launchContext(raw);
  }

  /**
   * Parses a token response received at {@code receivedAt} (expiry is {@code receivedAt +
   * expires_in}).
   *
   * @throws HaloParseException if a required member is missing or wrong
   */
  public static TokenSet parse(String json, Instant receivedAt) {
    Objects.requireNonNull(receivedAt, "receivedAt");
    return new TokenSet(Json.parseObject(json, WHAT), receivedAt);
  }

  static TokenSet parse(String json, Clock clock) {
    return parse(json, clock.instant());
  }

  /** The same tokens with {@code fhirUser} (from the validated id_token) in the context. */
  TokenSet withFhirUser(String fhirUser) {
    ObjectNode copy = raw.deepCopy();
    copy.put("fhirUser", fhirUser);
    return new TokenSet(copy, receivedAt);
  }

  /** After a refresh: the new answer, keeping the old refresh token if no new one came. */
  TokenSet mergeRefresh(TokenSet fresh) {
    ObjectNode merged = raw.deepCopy();
    merged.setAll(fresh.raw);
    if (!fresh.raw.has("refresh_token") && refreshToken != null) {
      merged.put("refresh_token", refreshToken);
    }
    return new TokenSet(merged, fresh.receivedAt);
  }

  /** The token response as JSON, unknown members included. */
  public String toJson() {
    return Json.write(raw);
  }

  public AccessToken accessToken() {
    return accessToken;
  }

  public Optional<Instant> expiresAt() {
    return accessToken.expiresAt();
  }

  /** The scopes granted, which may be fewer than those requested. */
  public SmartScopes scopes() {
    return scopes;
  }

  public Optional<String> refreshToken() {
    return Optional.ofNullable(refreshToken);
  }

  /** The raw id_token, validated by the client that produced this set. */
  public Optional<String> idToken() {
    return Optional.ofNullable(idToken);
  }

  /** Patient, encounter, fhirContext, ... and {@code fhirUser} from the id_token. */
  public LaunchContext launchContext() {
    return launchContext;
  }

  /** The {@code fhirUser} claim of the validated id_token. */
  public Optional<String> fhirUser() {
    return launchContext.fhirUser();
  }

  public Instant receivedAt() {
    return receivedAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenSet
        && ((TokenSet) o).raw.equals(raw)
        && ((TokenSet) o).receivedAt.equals(receivedAt);
  }

  @Override
  public int hashCode() {
    return raw.hashCode() * 31 + receivedAt.hashCode();
  }

  @Override
  public String toString() {
    return "TokenSet{scopes=" + scopes + ", expiresAt=" + accessToken.expiresAt().orElse(null)
        + ", refreshToken=" + (refreshToken != null ? "<redacted>" : "none")
        + ", idToken=" + (idToken != null ? "<redacted>" : "none")
        + ", " + launchContext + "}";
  }
}
