package ca.halo.core;

import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Identifier;

/**
 * One item of the SMART {@code fhirContext} launch parameter: exactly one of {@code reference},
 * {@code canonical} or {@code identifier}, with optional {@code type} and {@code role}.
 *
 * <pre>{@code
 * FhirContextItem item = FhirContextItem.reference("ServiceRequest/123");
 * }</pre>
 *
 * <p>Immutable and thread-safe. Spec: SMART App Launch 2.1.0 section 3.1.2 (fhirContext).
 */
public final class FhirContextItem {
  private final String reference;
  private final String canonical;
  private final String identifierSystem;
  private final String identifierValue;
  private final String type;
  private final String role;

  private FhirContextItem(
      String reference, String canonical, String identifierSystem, String identifierValue,
      String type, String role) {
    int count = (reference != null ? 1 : 0) + (canonical != null ? 1 : 0)
        + (identifierValue != null ? 1 : 0);
    if (count != 1) {
      throw new IllegalArgumentException(
          "a fhirContext item holds exactly one of reference, canonical or identifier");
    }
    if (role != null && (role.isBlank() || role.equals("launch"))) {
      throw new IllegalArgumentException("fhirContext role must be a non-blank URI other than"
          + " 'launch'");
    }
    this.reference = reference;
    this.canonical = canonical;
    this.identifierSystem = identifierSystem;
    this.identifierValue = identifierValue;
    this.type = type;
    this.role = role;
  }

  /** A relative reference such as {@code ServiceRequest/123}; type is taken from it. */
  public static FhirContextItem reference(String reference) {
    Objects.requireNonNull(reference, "reference");
    int slash = reference.indexOf('/');
    String type = slash > 0 ? reference.substring(0, slash) : null;
    return new FhirContextItem(reference, null, null, null, type, null);
  }

  public static FhirContextItem canonical(String canonical, String type) {
    return new FhirContextItem(null, Objects.requireNonNull(canonical), null, null, type, null);
  }

  public static FhirContextItem identifier(String system, String value, String type) {
    return new FhirContextItem(null, null, system, Objects.requireNonNull(value), type, null);
  }

  /** The same item with a {@code role} (an absolute URI, or a SMART-defined role). */
  public FhirContextItem withRole(String role) {
    return new FhirContextItem(
        reference, canonical, identifierSystem, identifierValue, type, role);
  }

  /** The same item with an explicit {@code type}. */
  public FhirContextItem withType(String type) {
    return new FhirContextItem(
        reference, canonical, identifierSystem, identifierValue, type, role);
  }

  public Optional<String> reference() {
    return Optional.ofNullable(reference);
  }

  public Optional<String> canonical() {
    return Optional.ofNullable(canonical);
  }

  public Optional<Identifier> identifier() {
    if (identifierValue == null) {
      return Optional.empty();
    }
    return Optional.of(new Identifier().setSystem(identifierSystem).setValue(identifierValue));
  }

  public Optional<String> type() {
    return Optional.ofNullable(type);
  }

  public Optional<String> role() {
    return Optional.ofNullable(role);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof FhirContextItem)) {
      return false;
    }
    FhirContextItem i = (FhirContextItem) o;
    return Objects.equals(i.reference, reference) && Objects.equals(i.canonical, canonical)
        && Objects.equals(i.identifierSystem, identifierSystem)
        && Objects.equals(i.identifierValue, identifierValue) && Objects.equals(i.type, type)
        && Objects.equals(i.role, role);
  }

  @Override
  public int hashCode() {
    return Objects.hash(reference, canonical, identifierSystem, identifierValue, type, role);
  }

  /** Prints the type and role only: references can name patient data. */
  @Override
  public String toString() {
    return "FhirContextItem{type=" + type + ", role=" + role + "}";
  }
}
