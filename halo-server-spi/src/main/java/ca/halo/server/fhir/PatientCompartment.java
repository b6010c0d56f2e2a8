package ca.halo.server.fhir;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * Finds the patient whose compartment holds a resource: the Patient itself, or the Patient its
 * {@code subject}, {@code patient}, {@code beneficiary} or {@code individual} element points to.
 * Used to confine {@code patient/} scopes and to index searches.
 *
 * <p>Stateless and thread-safe.
 */
public final class PatientCompartment {
  private static final List<String> PATHS = List.of("subject", "patient", "beneficiary",
      "individual");

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

  private PatientCompartment() {}

  /** {@code Patient/123}, or empty when the resource is in no patient's compartment. */
  public static Optional<String> patientOf(FhirContext ctx, Resource r) {
    if (r.fhirType().equals("Patient")) {
      return r.getIdElement().hasIdPart()
          ? Optional.of("Patient/" + r.getIdElement().getIdPart()) : Optional.empty();
    }
    return referenceAt(ctx, r, PATHS, "Patient");
  }

  /** {@code Encounter/123} from an {@code encounter} element, or empty. */
  public static Optional<String> encounterOf(FhirContext ctx, Resource r) {
    return referenceAt(ctx, r, List.of("encounter", "context"), "Encounter");
  }

  static Optional<String> referenceAt(
      FhirContext ctx, Resource r, List<String> names, String targetType) {
    RuntimeResourceDefinition def = ctx.getResourceDefinition(r);
    for (String name : names) {
      BaseRuntimeChildDefinition child = def.getChildByName(name);
      if (child == null) {
        continue;
      }
      for (IBase v : child.getAccessor().getValues(r)) {
        if (v instanceof Reference) {
          String ref = ((Reference) v).getReference();
          if (ref != null && ref.startsWith(targetType + "/")) {
            // Type/id or Type/id/_history/v; anything else ("Patient/", "Patient/../x") names
            // no compartment
            String[] parts = ref.split("/", -1);
            boolean versioned = parts.length == 4 && parts[2].equals("_history");
            if ((parts.length == 2 || versioned) && ID.matcher(parts[1]).matches()) {
              return Optional.of(targetType + "/" + parts[1]);
            }
          }
        }
      }
    }
    return Optional.empty();
  }
}
