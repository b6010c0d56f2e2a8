package ca.halo.server.sofa;

import java.util.List;
import org.hl7.fhir.r4.model.Resource;

/**
 * Checks a resource the PoC uploads with {@code $set-context} before it is stored; errors answer
 * 422. The default, {@link #requiredElements(ca.uhn.fhir.context.FhirContext)}, checks the base R4
 * cardinality of top-level elements; a jurisdiction plugs in a CA Core+ profile validator here
 * (HAPI's {@code FhirValidator}, for one).
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface ResourceValidator {
  /** Problems found, each naming its element; empty if the resource is acceptable. */
  List<String> validate(Resource resource);

  /** Accepts everything. */
  static ResourceValidator none() {
    return r -> List.of();
  }

  /** Checks that every top-level element the base R4 definition requires (min 1) is present. */
  static ResourceValidator requiredElements(ca.uhn.fhir.context.FhirContext ctx) {
    return r -> {
      List<String> problems = new java.util.ArrayList<>();
      for (ca.uhn.fhir.context.BaseRuntimeChildDefinition child
          : ctx.getResourceDefinition(r).getChildren()) {
        if (child.getMin() > 0 && child.getAccessor().getValues(r).isEmpty()) {
          problems.add(r.fhirType() + "." + child.getElementName() + " is required (min "
              + child.getMin() + ")");
        }
      }
      return problems;
    };
  }
}
