package ca.halo.server.fhir;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The searches SMART apps need on the SoFA: by {@code _id}, patient compartment ({@code patient}
 * or {@code subject}), {@code encounter}, {@code identifier} ({@code system|value} or
 * {@code value}), and {@code _lastUpdated} bounds. Criteria combine with AND.
 *
 * <p>Immutable and thread-safe.
 */
public final class SearchCriteria {
  private final String id;
  private final String patient;
  private final String encounter;
  private final String identifierSystem;
  private final String identifierValue;
  private final Instant lastUpdatedFrom;
  private final Instant lastUpdatedTo;
  private final String sessionTag;
  private final int limit;
  private final java.util.function.Predicate<String> sessionFilter;

  private SearchCriteria(Builder b) {
    this.id = b.id;
    this.patient = b.patient;
    this.encounter = b.encounter;
    this.identifierSystem = b.identifierSystem;
    this.identifierValue = b.identifierValue;
    this.lastUpdatedFrom = b.lastUpdatedFrom;
    this.lastUpdatedTo = b.lastUpdatedTo;
    this.sessionTag = b.sessionTag;
    this.limit = b.limit;
    this.sessionFilter = b.sessionFilter;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static SearchCriteria all() {
    return builder().build();
  }

  public Optional<String> id() { return Optional.ofNullable(id); }
  /** A relative reference {@code Patient/123}. */
  public Optional<String> patient() { return Optional.ofNullable(patient); }
  /** A relative reference {@code Encounter/123}. */
  public Optional<String> encounter() { return Optional.ofNullable(encounter); }
  public Optional<String> identifierSystem() { return Optional.ofNullable(identifierSystem); }
  public Optional<String> identifierValue() { return Optional.ofNullable(identifierValue); }
  public Optional<Instant> lastUpdatedFrom() { return Optional.ofNullable(lastUpdatedFrom); }
  public Optional<Instant> lastUpdatedTo() { return Optional.ofNullable(lastUpdatedTo); }
  /** Only resources tagged with this SoFA session. */
  public Optional<String> sessionTag() { return Optional.ofNullable(sessionTag); }
  /**
   * The most resources a repository returns for this search (it stops there); callers ask one
   * more than they accept to tell "exactly" from "too many". Default: no limit.
   */
  public int limit() { return limit; }
  /**
   * Which launch sessions' resources the search may return: the filter gets a resource's session
   * id, or null for the server's own untagged data. Repositories apply it before counting
   * towards {@link #limit()} (so other sessions' data neither fills the limit nor shows in it).
   * Default: all.
   */
  public java.util.function.Predicate<String> sessionFilter() { return sessionFilter; }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SearchCriteria)) {
      return false;
    }
    SearchCriteria c = (SearchCriteria) o;
    return Objects.equals(id, c.id) && Objects.equals(patient, c.patient)
        && Objects.equals(encounter, c.encounter)
        && Objects.equals(identifierSystem, c.identifierSystem)
        && Objects.equals(identifierValue, c.identifierValue)
        && Objects.equals(lastUpdatedFrom, c.lastUpdatedFrom)
        && Objects.equals(lastUpdatedTo, c.lastUpdatedTo)
        && Objects.equals(sessionTag, c.sessionTag) && limit == c.limit;
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, patient, encounter, identifierSystem, identifierValue,
        lastUpdatedFrom, lastUpdatedTo, sessionTag, limit);
  }

  @Override
  public String toString() {
    return "SearchCriteria{id=" + (id != null) + ", patient=" + (patient != null)
        + ", encounter=" + (encounter != null) + ", identifier=" + (identifierValue != null)
        + ", lastUpdated=" + lastUpdatedFrom + ".." + lastUpdatedTo + "}";
  }

  /** Builds {@link SearchCriteria}. */
  public static final class Builder {
    private String id;
    private String patient;
    private String encounter;
    private String identifierSystem;
    private String identifierValue;
    private Instant lastUpdatedFrom;
    private Instant lastUpdatedTo;
    private String sessionTag;
    private int limit = Integer.MAX_VALUE;
    private java.util.function.Predicate<String> sessionFilter = session -> true;

    private Builder() {}

    public Builder id(String v) { this.id = v; return this; }
    public Builder patient(String v) { this.patient = v; return this; }
    public Builder encounter(String v) { this.encounter = v; return this; }
    public Builder identifier(String system, String value) {
      this.identifierSystem = system;
      this.identifierValue = Objects.requireNonNull(value);
      return this;
    }
    public Builder lastUpdatedFrom(Instant v) { this.lastUpdatedFrom = v; return this; }
    public Builder lastUpdatedTo(Instant v) { this.lastUpdatedTo = v; return this; }
    public Builder sessionTag(String v) { this.sessionTag = v; return this; }
    public Builder sessionFilter(java.util.function.Predicate<String> v) {
      this.sessionFilter = Objects.requireNonNull(v);
      return this;
    }
    public Builder limit(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("limit must be positive");
      }
      this.limit = v;
      return this;
    }

    public SearchCriteria build() {
      return new SearchCriteria(this);
    }
  }
}
