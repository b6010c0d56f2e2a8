package ca.halo.server.postgres;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Which audit events {@link PostgresAuditSink#search} returns: a time range, a HALO subtype
 * ({@code set-context}, {@code read}, ...), an outcome code ({@code 0} success, {@code 4} minor
 * failure, ...), a client id, and at most how many (newest first).
 *
 * <pre>{@code
 * AuditQuery q = AuditQuery.builder().from(start).subtype("set-context").clientId("emr").limit(100).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class AuditQuery {
  /** The most events one search returns. */
  public static final int MAX_LIMIT = 10_000;

  private final Instant from;
  private final Instant to;
  private final String subtype;
  private final String outcome;
  private final String clientId;
  private final int limit;

  private AuditQuery(Builder b) {
    this.from = b.from;
    this.to = b.to;
    this.subtype = b.subtype;
    this.outcome = b.outcome;
    this.clientId = b.clientId;
    this.limit = b.limit;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Recorded at or after. */
  public Optional<Instant> from() { return Optional.ofNullable(from); }
  /** Recorded before. */
  public Optional<Instant> to() { return Optional.ofNullable(to); }
  public Optional<String> subtype() { return Optional.ofNullable(subtype); }
  public Optional<String> outcome() { return Optional.ofNullable(outcome); }
  public Optional<String> clientId() { return Optional.ofNullable(clientId); }
  public int limit() { return limit; }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AuditQuery)) {
      return false;
    }
    AuditQuery q = (AuditQuery) o;
    return Objects.equals(from, q.from) && Objects.equals(to, q.to)
        && Objects.equals(subtype, q.subtype) && Objects.equals(outcome, q.outcome)
        && Objects.equals(clientId, q.clientId) && limit == q.limit;
  }

  @Override
  public int hashCode() {
    return Objects.hash(from, to, subtype, outcome, clientId, limit);
  }

  @Override
  public String toString() {
    return "AuditQuery{from=" + from + ", to=" + to + ", subtype=" + subtype + ", outcome="
        + outcome + ", clientId=" + clientId + ", limit=" + limit + "}";
  }

  /** Builds an {@link AuditQuery}; every criterion is optional. */
  public static final class Builder {
    private Instant from;
    private Instant to;
    private String subtype;
    private String outcome;
    private String clientId;
    private int limit = 100;

    private Builder() {}

    public Builder from(Instant v) { this.from = Objects.requireNonNull(v); return this; }
    public Builder to(Instant v) { this.to = Objects.requireNonNull(v); return this; }
    public Builder subtype(String v) { this.subtype = Objects.requireNonNull(v); return this; }
    /** An AuditEvent outcome code: {@code 0}, {@code 4}, {@code 8} or {@code 12}. */
    public Builder outcome(String v) { this.outcome = Objects.requireNonNull(v); return this; }
    public Builder clientId(String v) { this.clientId = Objects.requireNonNull(v); return this; }
    /** At most this many events. Default 100, at most {@link #MAX_LIMIT}. */
    public Builder limit(int v) { this.limit = v; return this; }

    public AuditQuery build() {
      if (limit < 1 || limit > MAX_LIMIT) {
        throw new IllegalStateException("limit must be between 1 and " + MAX_LIMIT);
      }
      if (from != null && to != null && !from.isBefore(to)) {
        throw new IllegalStateException("from must be before to");
      }
      return new AuditQuery(this);
    }
  }
}
