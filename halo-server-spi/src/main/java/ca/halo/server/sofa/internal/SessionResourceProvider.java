package ca.halo.server.sofa.internal;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.fhir.PatientCompartment;
import ca.halo.server.fhir.SearchCriteria;
import ca.halo.server.internal.Audits;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.ContextManager;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Resource;

/**
 * The FHIR endpoints SMART apps use after launch, for one resource type, with SMART scopes
 * enforced per request:
 * <ul>
 *   <li>{@code patient/} scopes reach only the launch patient's compartment;</li>
 *   <li>no token reaches the resources of another launch session (a launch token sees its own
 *       session's, the PoC that set a context sees that session's, and all see the server's own
 *       untagged data);</li>
 *   <li>{@code c r u d s} are honoured per interaction;</li>
 *   <li>what an app creates is tagged with its session, recorded in the context, and announced to
 *       the change listeners (subscriptions).</li>
 * </ul>
 */
public final class SessionResourceProvider implements IResourceProvider {
  private final Class<? extends IBaseResource> type;
  private final String typeName;
  private final FhirContext ctx;
  private final FhirResourceRepository repository;
  private final LaunchContextStore contexts;
  private final ContextManager manager;
  private final AuditSink audit;
  private final Clock clock;

  public SessionResourceProvider(String typeName, FhirContext ctx,
      FhirResourceRepository repository, LaunchContextStore contexts, ContextManager manager,
      AuditSink audit, Clock clock) {
    this.typeName = typeName;
    this.type = ctx.getResourceDefinition(typeName).getImplementingClass();
    this.ctx = ctx;
    this.repository = repository;
    this.contexts = contexts;
    this.manager = manager;
    this.audit = audit;
    this.clock = clock;
  }

  @Override
  public Class<? extends IBaseResource> getResourceType() {
    return type;
  }

  @Read(version = true)
  public IBaseResource read(@IdParam IdType id, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access access = require(p, Interaction.READ);
    Optional<Resource> r = id.hasVersionIdPart()
        ? repository.vread(typeName, id.getIdPart(), id.getVersionIdPart())
        : repository.read(typeName, id.getIdPart());
    if (r.isEmpty() || !visible(p, access, r.get())) {
      // not found and not yours answer alike: ids of other sessions are not revealed
      throw Errors.of(404, typeName, typeName + "/" + id.getIdPart() + " is not known");
    }
    Audits.record(audit, "read", AuditEventAction.R, true, p.clientId(), p.subject().orElse(null),
        typeName + "/" + id.getIdPart(), clock.instant());
    return r.get();
  }

  @Search(allowUnknownParams = false)
  public List<IBaseResource> search(
      @OptionalParam(name = "_id") TokenParam id,
      @OptionalParam(name = "patient") ReferenceParam patient,
      @OptionalParam(name = "subject") ReferenceParam subject,
      @OptionalParam(name = "encounter") ReferenceParam encounter,
      @OptionalParam(name = "identifier") TokenParam identifier,
      @OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
      RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access access = require(p, Interaction.SEARCH);
    SearchCriteria.Builder c = SearchCriteria.builder();
    if (id != null) {
      c.id(id.getValue());
    }
    String patientRef = patient != null ? ref(patient, "Patient")
        : subject != null ? ref(subject, "Patient") : null;
    if (access == SmartScopes.Access.PATIENT_COMPARTMENT) {
      String own = "Patient/" + p.patient().orElseThrow(() ->
          Errors.of(403, "", "patient/ scopes need a launch with a patient in context"));
      if (patientRef != null && !patientRef.equals(own)) {
        throw Errors.of(403, "patient", "patient/ scopes reach only the patient in context");
      }
      patientRef = typeName.equals("Patient") ? null : own;
      if (typeName.equals("Patient")) {
        c.id(own.substring(8));
      }
    }
    if (patientRef != null) {
      c.patient(patientRef);
    }
    if (encounter != null) {
      c.encounter(ref(encounter, "Encounter"));
    }
    if (identifier != null) {
      c.identifier(identifier.getSystem(), identifier.getValue());
    }
    if (lastUpdated != null) {
      if (lastUpdated.getLowerBoundAsInstant() != null) {
        c.lastUpdatedFrom(lastUpdated.getLowerBoundAsInstant().toInstant());
      }
      if (lastUpdated.getUpperBoundAsInstant() != null) {
        c.lastUpdatedTo(lastUpdated.getUpperBoundAsInstant().toInstant());
      }
    }
    List<IBaseResource> out = new ArrayList<>();
    for (Resource r : repository.search(typeName, c.build())) {
      if (visible(p, access, r)) {
        out.add(r);
      }
    }
    Audits.record(audit, "search", AuditEventAction.E, true, p.clientId(),
        p.subject().orElse(null), typeName, clock.instant());
    return out;
  }

  @Create
  public MethodOutcome create(@ResourceParam IBaseResource resource, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access access = require(p, Interaction.CREATE);
    Resource r = (Resource) resource;
    checkCompartment(p, access, r);
    r.setId((String) null);
    r.getMeta().getTag().removeIf(c -> InMemoryFhirRepository.SESSION_TAG_SYSTEM.equals(c.getSystem()));
    p.sessionId().ifPresent(s -> tag(r, s));
    Resource stored;
    try {
      stored = repository.create(r);
    } catch (FhirRepositoryException e) {
      throw Errors.of(e);
    }
    String ref = typeName + "/" + stored.getIdElement().getIdPart();
    if (p.sessionId().isPresent()
        && !contexts.addResource(p.sessionId().get(), ref, clock.instant())) {
      repository.delete(typeName, stored.getIdElement().getIdPart());
      throw Errors.of(401, "", "the launch this token belongs to has ended");
    }
    Audits.record(audit, "create", AuditEventAction.C, true, p.clientId(),
        p.subject().orElse(null), ref, clock.instant());
    p.sessionId().ifPresent(s -> manager.fireChanged(stored, true, s));
    MethodOutcome mo = new MethodOutcome(stored.getIdElement(), true);
    mo.setResource(stored);
    return mo;
  }

  @Update
  public MethodOutcome update(@IdParam IdType id, @ResourceParam IBaseResource resource,
      RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access access = require(p, Interaction.UPDATE);
    Resource r = (Resource) resource;
    Optional<Resource> existing = repository.read(typeName, id.getIdPart());
    if (existing.isEmpty() || !visible(p, access, existing.get())) {
      throw Errors.of(404, typeName, typeName + "/" + id.getIdPart() + " is not known;"
          + " create new resources with POST");
    }
    checkCompartment(p, access, r);
    r.setId(id.getIdPart());
    r.getMeta().setTag(existing.get().getMeta().getTag());
    Resource stored;
    try {
      stored = repository.update(r);
    } catch (FhirRepositoryException e) {
      throw Errors.of(e);
    }
    Audits.record(audit, "update", AuditEventAction.U, true, p.clientId(),
        p.subject().orElse(null), typeName + "/" + id.getIdPart(), clock.instant());
    sessionOf(stored).ifPresent(s -> manager.fireChanged(stored, false, s));
    MethodOutcome mo = new MethodOutcome(stored.getIdElement(), false);
    mo.setResource(stored);
    return mo;
  }

  @Delete
  public MethodOutcome delete(@IdParam IdType id, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access access = require(p, Interaction.DELETE);
    Optional<Resource> existing = repository.read(typeName, id.getIdPart());
    if (existing.isEmpty() || !visible(p, access, existing.get())) {
      throw Errors.of(404, typeName, typeName + "/" + id.getIdPart() + " is not known");
    }
    repository.delete(typeName, id.getIdPart());
    Audits.record(audit, "delete", AuditEventAction.D, true, p.clientId(),
        p.subject().orElse(null), typeName + "/" + id.getIdPart(), clock.instant());
    return new MethodOutcome();
  }

  // ---- rules

  private SmartScopes.Access require(Principal p, Interaction i) {
    SmartScopes.Access a = p.scopes().access(i, typeName);
    if (a == SmartScopes.Access.NONE) {
      throw Errors.of(403, typeName, "the token's scopes do not allow "
          + i.name().toLowerCase(java.util.Locale.ROOT) + " on " + typeName);
    }
    return a;
  }

  /**
   * Never in another launch session: a launch token sees its own session's resources, the caller
   * that set a context (the PoC) sees that session's resources, and everyone sees the server's own
   * untagged data. For patient/ scopes, only the launch patient's compartment.
   */
  private boolean visible(Principal p, SmartScopes.Access access, Resource r) {
    Optional<String> session = sessionOf(r);
    if (session.isPresent() && !session.equals(p.sessionId())
        && !contexts.findBySession(session.get(), clock.instant())
            .map(c -> c.ownerKey().equals(p.bindingKey())).orElse(false)) {
      return false;
    }
    if (access == SmartScopes.Access.PATIENT_COMPARTMENT) {
      return p.patient().isPresent()
          && PatientCompartment.patientOf(ctx, r).equals(Optional.of("Patient/" + p.patient().get()));
    }
    return true;
  }

  private void checkCompartment(Principal p, SmartScopes.Access access, Resource r) {
    if (access == SmartScopes.Access.PATIENT_COMPARTMENT) {
      Optional<String> target = PatientCompartment.patientOf(ctx, r);
      if (p.patient().isEmpty() || !target.equals(Optional.of("Patient/" + p.patient().get()))) {
        throw Errors.of(403, typeName + ".subject",
            "patient/ scopes may write only resources of the patient in context");
      }
    }
  }

  private static Optional<String> sessionOf(Resource r) {
    for (Coding c : r.getMeta().getTag()) {
      if (InMemoryFhirRepository.SESSION_TAG_SYSTEM.equals(c.getSystem())) {
        return Optional.ofNullable(c.getCode());
      }
    }
    return Optional.empty();
  }

  private static void tag(Resource r, String session) {
    r.getMeta().addTag(new Coding(InMemoryFhirRepository.SESSION_TAG_SYSTEM, session, "SoFA session"));
  }

  private static String ref(ReferenceParam p, String defaultType) {
    String type = p.getResourceType() != null ? p.getResourceType() : defaultType;
    return type + "/" + p.getIdPart();
  }
}
