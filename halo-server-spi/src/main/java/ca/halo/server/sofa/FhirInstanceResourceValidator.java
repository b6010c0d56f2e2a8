package ca.halo.server.sofa;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.Resource;

/**
 * A {@link ResourceValidator} that runs HAPI's instance validator: every constraint of the base
 * R4 StructureDefinitions (cardinality, invariants, value sets it can check in memory), plus any
 * profiles you add to the support chain (CA Core+ when the jurisdiction loads its package).
 * Errors and fatal messages refuse the upload with 422; warnings pass.
 *
 * <pre>{@code
 * SofaServer.builder().validator(new FhirInstanceResourceValidator(ctx))...
 * }</pre>
 *
 * <p>Needs the optional dependencies {@code hapi-fhir-validation},
 * {@code hapi-fhir-validation-resources-r4} and {@code hapi-fhir-caching-caffeine}. Thread-safe;
 * build one (loading the StructureDefinitions takes a few seconds) and share it.
 */
public final class FhirInstanceResourceValidator implements ResourceValidator {
  private final FhirValidator validator;
  private final FhirContext ctx;

  public FhirInstanceResourceValidator(FhirContext ctx) {
    this(ctx, new ValidationSupportChain(new DefaultProfileValidationSupport(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx), new CommonCodeSystemsTerminologyService(ctx)));
  }

  /** With your own support chain (to add profiles, a terminology server, ...). */
  public FhirInstanceResourceValidator(FhirContext ctx, IValidationSupport support) {
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    FhirInstanceValidator module = new FhirInstanceValidator(Objects.requireNonNull(support, "support"));
    module.setAnyExtensionsAllowed(true);
    this.validator = ctx.newValidator().registerValidatorModule(module);
  }

  @Override
  public List<String> validate(Resource resource) {
    // a Bundle parser links urn:uuid references to the other entries' objects; validated alone,
    // such a linked resource would look contained, so validate a copy without the links
    // (found without following the links: a chain of them would cost 2^n visits)
    Resource copy = resource.copy();
    ca.halo.server.internal.Links.cut(copy);
    ValidationResult result = validator.validateWithResult(copy);
    List<String> problems = new ArrayList<>();
    for (SingleValidationMessage m : result.getMessages()) {
      if (m.getSeverity() == ResultSeverityEnum.ERROR || m.getSeverity() == ResultSeverityEnum.FATAL) {
        problems.add(m.getLocationString() + ": " + m.getMessage());
      }
    }
    return problems;
  }
}
