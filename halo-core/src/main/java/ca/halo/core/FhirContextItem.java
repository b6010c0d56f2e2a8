package ca.halo.core;

import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
  private static final String WHAT = "fhirContext item";

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

  ObjectNode toJsonNode() {
    ObjectNode o = Json.object();
    Json.putIfPresent(o, "reference", reference);
    Json.putIfPresent(o, "canonical", canonical);
    if (identifierValue != null) {
      ObjectNode id = o.putObject("identifier");
      Json.putIfPresent(id, "system", identifierSystem);
      id.put("value", identifierValue);
    }
    Json.putIfPresent(o, "type", type);
    Json.putIfPresent(o, "role", role);
    return o;
  }

  static FhirContextItem fromJsonNode(JsonNode n) {
    if (!n.isObject()) {
      throw new HaloParseException(WHAT + ": each fhirContext entry must be a JSON object");
    }
    ObjectNode o = (ObjectNode) n;
    String ref = Json.optionalString(o, "reference", WHAT);
    String can = Json.optionalString(o, "canonical", WHAT);
    String sys = null;
    String val = null;
    JsonNode id = o.get("identifier");
    if (id != null && !id.isNull()) {
      if (!id.isObject()) {
        throw new HaloParseException(WHAT + ": 'identifier' must be an Identifier object");
      }
      sys = Json.optionalString((ObjectNode) id, "system", WHAT);
      val = Json.requiredString((ObjectNode) id, "value", WHAT + " identifier");
    }
    try {
      return new FhirContextItem(
          ref, can, sys, val, Json.optionalString(o, "type", WHAT),
          Json.optionalString(o, "role", WHAT));
    } catch (IllegalArgumentException e) {
      throw new HaloParseException(WHAT + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FhirContextItem
        && ((FhirContextItem) o).toJsonNode().equals(toJsonNode());
  }

  @Override
  public int hashCode() {
    return toJsonNode().hashCode();
  }

  /** Prints the type and role only: references can name patient data. */
  @Override
  public String toString() {
    return "FhirContextItem{type=" + type + ", role=" + role + "}";
  }
}
