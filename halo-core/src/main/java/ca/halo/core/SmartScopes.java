package ca.halo.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A set of SMART scopes, as carried in an authorization request, a token response, or an
 * introspection answer.
 *
 * <pre>{@code
 * SmartScopes granted = SmartScopes.parse("launch openid fhirUser patient/Observation.rs");
 * granted.permits(Interaction.READ, "Observation", "pat-1", "pat-1"); // true
 * granted.permits(Interaction.READ, "Observation", "pat-1", "pat-2"); // false
 * }</pre>
 *
 * <p>Immutable and thread-safe; order of first appearance is kept, duplicates dropped.
 *
 * <p>Spec: SMART App Launch 2.1.0 section 3.
 */
public final class SmartScopes {
  private static final SmartScopes EMPTY = new SmartScopes(List.of());

  /** What a scope set grants for one interaction on one resource type. */
  public enum Access {
    /** No scope grants it. */
    NONE,
    /** Only {@code patient/} scopes grant it: confined to the launch patient's compartment. */
    PATIENT_COMPARTMENT,
    /** A {@code user/} or {@code system/} scope grants it on any resource the user may see. */
    ANY
  }

  private final List<SmartScope> scopes;

  private SmartScopes(List<SmartScope> scopes) {
    this.scopes = Collections.unmodifiableList(scopes);
  }

  public static SmartScopes empty() {
    return EMPTY;
  }

  /**
   * Parses a space-separated scope string (RFC 6749 section 3.3).
   *
   * @throws IllegalArgumentException if a token is a malformed resource scope
   */
  public static SmartScopes parse(String spaceSeparated) {
    if (spaceSeparated == null || spaceSeparated.isBlank()) {
      return EMPTY;
    }
    List<SmartScope> out = new ArrayList<>();
    for (String t : spaceSeparated.trim().split("\\s+")) {
      out.add(SmartScope.parse(t));
    }
    return of(out);
  }

  public static SmartScopes of(Collection<SmartScope> scopes) {
    return new SmartScopes(List.copyOf(new LinkedHashSet<>(scopes)));
  }

  public static SmartScopes of(SmartScope... scopes) {
    return of(List.of(scopes));
  }

  public List<SmartScope> asList() {
    return scopes;
  }

  public boolean contains(SmartScope scope) {
    return scopes.contains(scope);
  }

  public boolean contains(String scope) {
    return scopes.stream().anyMatch(s -> s.value().equals(scope));
  }

  public boolean isEmpty() {
    return scopes.isEmpty();
  }

  /** Adds scopes, keeping order and dropping duplicates. */
  public SmartScopes with(SmartScope... more) {
    List<SmartScope> all = new ArrayList<>(scopes);
    all.addAll(List.of(more));
    return of(all);
  }

  /** The scopes of this set that {@code allowed} also holds (a server narrowing a request). */
  public SmartScopes retainAll(SmartScopes allowed) {
    return of(scopes.stream().filter(allowed.scopes::contains).collect(Collectors.toList()));
  }

  /** What this scope set grants for {@code interaction} on {@code resourceType}. */
  public Access access(Interaction interaction, String resourceType) {
    Objects.requireNonNull(interaction, "interaction");
    Objects.requireNonNull(resourceType, "resourceType");
    Access best = Access.NONE;
    for (SmartScope s : scopes) {
      if (s.permits(interaction, resourceType)) {
        if (s.level().orElseThrow() != SmartScope.Level.PATIENT) {
          return Access.ANY;
        }
        best = Access.PATIENT_COMPARTMENT;
      }
    }
    return best;
  }

  /**
   * Whether this scope set permits {@code interaction} on a {@code resourceType} resource that
   * lies in {@code resourcePatientId}'s compartment, for a session launched with
   * {@code launchPatientId}. {@code patient/} scopes permit only when the two are the same.
   */
  public boolean permits(
      Interaction interaction, String resourceType, String launchPatientId,
      String resourcePatientId) {
    Access a = access(interaction, resourceType);
    return a == Access.ANY
        || (a == Access.PATIENT_COMPARTMENT
            && launchPatientId != null
            && launchPatientId.equals(resourcePatientId));
  }

  /** The space-separated wire form. */
  public String format() {
    return scopes.stream().map(SmartScope::value).collect(Collectors.joining(" "));
  }

  public Set<String> values() {
    return scopes.stream().map(SmartScope::value).collect(Collectors.toCollection(LinkedHashSet::new));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SmartScopes
        && new LinkedHashSet<>(((SmartScopes) o).scopes).equals(new LinkedHashSet<>(scopes));
  }

  @Override
  public int hashCode() {
    return new LinkedHashSet<>(scopes).hashCode();
  }

  @Override
  public String toString() {
    return format();
  }
}
