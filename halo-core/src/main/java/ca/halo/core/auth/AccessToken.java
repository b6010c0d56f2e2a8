package ca.halo.core.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A bearer access token and when it expires.
 *
 * <pre>{@code
 * AccessToken t = AccessToken.of(value, Instant.now().plusSeconds(300));
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} never prints the token.
 */
public final class AccessToken {
  private final String value;
  private final Instant expiresAt;

  private AccessToken(String value, Instant expiresAt) {
    Objects.requireNonNull(value, "value");
    if (value.isBlank()) {
      throw new IllegalArgumentException("access token must not be blank");
    }
    this.value = value;
    this.expiresAt = expiresAt;
  }

  /** A token that expires at {@code expiresAt}. */
  public static AccessToken of(String value, Instant expiresAt) {
    return new AccessToken(value, Objects.requireNonNull(expiresAt, "expiresAt"));
  }

  /** A token whose lifetime the server did not state. */
  public static AccessToken withoutExpiry(String value) {
    return new AccessToken(value, null);
  }

  /** The secret bearer value. Never log it. */
  public String value() {
    return value;
  }

  public Optional<Instant> expiresAt() {
    return Optional.ofNullable(expiresAt);
  }

  /** Whether the token expires within {@code skew} of {@code clock}'s now. */
  public boolean expiresWithin(Duration skew, Clock clock) {
    return expiresAt != null && !clock.instant().plus(skew).isBefore(expiresAt);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AccessToken
        && ((AccessToken) o).value.equals(value)
        && Objects.equals(((AccessToken) o).expiresAt, expiresAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(value, expiresAt);
  }

  @Override
  public String toString() {
    return "AccessToken{value=<redacted>, expiresAt=" + expiresAt + "}";
  }
}
