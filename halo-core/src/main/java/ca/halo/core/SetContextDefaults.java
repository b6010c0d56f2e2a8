package ca.halo.core;

import java.util.Set;

/**
 * The defaults of HALO CA:SoFA-1 ({@code $set-context}) that the client and the SoFA must agree
 * on, written once: the resource types a context may upload, and the scopes that allow setting a
 * context. Both are configurable on either side ({@code SofaClient.Builder.allowedTypes},
 * {@code SofaServer.Builder.allowedTypes}, {@code contextWriteScopes}); these are the values used
 * when nothing is set.
 *
 * <pre>{@code
 * if (!SetContextDefaults.ALLOWED_RESOURCE_TYPES.contains(r.fhirType())) { ... }
 * }</pre>
 *
 * <p>Immutable sets; thread-safe. Spec: CA:SoFA-1, and the decisions in our HALO reading
 * (docs/halo-specification-reading.md, "Allowed resource types", "required scope").
 */
public final class SetContextDefaults {
  private SetContextDefaults() {}

  /**
   * The 19 resource types {@code $set-context} accepts by default: Patient, Encounter,
   * Practitioner, PractitionerRole, Organization, Location, Condition, Observation,
   * AllergyIntolerance, MedicationRequest, MedicationStatement, Medication, Immunization,
   * DiagnosticReport, DocumentReference, ServiceRequest, Coverage, RelatedPerson,
   * QuestionnaireResponse.
   */
  public static final Set<String> ALLOWED_RESOURCE_TYPES = Set.of("Patient", "Encounter",
      "Practitioner", "PractitionerRole", "Organization", "Location", "Condition", "Observation",
      "AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Medication",
      "Immunization", "DiagnosticReport", "DocumentReference", "ServiceRequest", "Coverage",
      "RelatedPerson", "QuestionnaireResponse");

  /**
   * The scopes, any one of which allows {@code $set-context} by default:
   * {@code system/Context.write} (a PoC signed in as itself) and {@code user/Context.write} (a
   * clinician's session).
   */
  public static final Set<String> WRITE_SCOPES =
      Set.of("system/Context.write", "user/Context.write");
}
