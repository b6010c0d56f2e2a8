package ca.halo.sof;

import ca.halo.core.SmartScopes;
import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Optional;

/**
 * An RFC 7662 introspection answer.
 *
 * <p>Immutable and thread-safe. {@link #parse(String)} requires a boolean {@code active} and
 * checks {@code scope} eagerly. Unknown members are kept and written back by {@link #toJson()}.
 */
public final class TokenIntrospection {
  private static final String WHAT = "introspection response";
  private final ObjectNode raw;
  private final SmartScopes scopes;

  private TokenIntrospection(ObjectNode raw) {
    this.raw = raw;
    JsonNode active = raw.get("active");
    if (active == null || !active.isBoolean()) {
      throw new ca.halo.core.HaloParseException(WHAT + ": required boolean 'active' is missing");
    }
    try {
      this.scopes = SmartScopes.parse(Json.optionalString(raw, "scope", WHAT));
    } catch (IllegalArgumentException e) {
      throw new ca.halo.core.HaloParseException(WHAT + ": " + e.getMessage(), e);
    }
  }

  public static TokenIntrospection parse(String json) {
    return new TokenIntrospection(Json.parseObject(json, WHAT));
  }

  public String toJson() {
    return Json.write(raw);
  }

  public boolean active() {
    return raw.get("active").booleanValue();
  }

  public SmartScopes scopes() {
    return scopes;
  }

  public Optional<String> clientId() {
    return Optional.ofNullable(Json.optionalString(raw, "client_id", WHAT));
  }

  public Optional<String> subject() {
    return Optional.ofNullable(Json.optionalString(raw, "sub", WHAT));
  }

  /**
   * The token's expiry.
   *
   * @throws ca.halo.core.HaloParseException if {@code exp} lies beyond any representable instant
   */
  public Optional<Instant> expiresAt() {
    JsonNode n = raw.get("exp");
    if (n == null || !n.canConvertToLong()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Instant.ofEpochSecond(n.asLong()));
    } catch (java.time.DateTimeException e) {
      throw new ca.halo.core.HaloParseException(WHAT + ": exp is beyond any representable time", e);
    }
  }

  /** A member by name, as JSON text. */
  public Optional<String> member(String name) {
    JsonNode n = raw.get(name);
    return n == null ? Optional.empty() : Optional.of(n.isTextual() ? n.asText() : Json.write(n));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenIntrospection && ((TokenIntrospection) o).raw.equals(raw);
  }

  @Override
  public int hashCode() {
    return raw.hashCode();
  }

  @Override
  public String toString() {
    return "TokenIntrospection{active=" + active() + ", clientId=" + clientId().orElse(null) + "}";
  }
}
