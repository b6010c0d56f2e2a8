package ca.halo.server.sofa.internal;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.PatientCompartment;
import ca.halo.server.fhir.SearchCriteria;
import ca.halo.server.internal.Audits;
import ca.halo.server.security.AccessRules;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.ContextManager;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Offset;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.SimpleBundleProvider;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Resource;

/**
 * The FHIR endpoints SMART apps use after launch, for one resource type, with SMART scopes
 * enforced per request by {@link AccessRules} (the same rule the subscription engine applies):
 * <ul>
 *   <li>{@code patient/} scopes reach only the launch patient's compartment;</li>
 *   <li>no token reaches the resources of another launch session (a launch token sees its own
 *       session's, the PoC that set a context sees that session's, an administrator sees all, and
 *       all see the server's own untagged data);</li>
 *   <li>{@code c r u d s} are honoured per interaction;</li>
 *   <li>searches take {@code _id}, {@code patient}, {@code subject}, {@code encounter},
 *       {@code identifier}, {@code _lastUpdated} (and {@code _count}, {@code _offset},
 *       {@code _format}, {@code _pretty}, {@code _summary}, {@code _elements}); pages are
 *       served by {@code _offset}, each one searched afresh as its caller; anything else, a modifier, an OR
 *       list or a repeated parameter is refused with 400 rather than answered as another
 *       question; a search matching more than {@code maxSearchResults} stored resources is
 *       refused with 422 (narrow it) rather than loaded whole;</li>
 *   <li>what an app creates is tagged with its session, counted against the session's write
 *       budget ({@link WriteBudget}), recorded in the context, and announced to the change
 *       listeners (subscriptions).</li>
 * </ul>
 */
public final class SessionResourceProvider implements IResourceProvider {
  private static final Set<String> SEARCH_PARAMS = Set.of("_id", "patient", "subject",
      "encounter", "identifier", "_lastUpdated");
  /** Page size when a search names no {@code _count}; the SoFA's FHIR server is set to it. */
  public static final int DEFAULT_PAGE_SIZE = 100;
  /** Distinct launch sessions one search may look at before it is refused (422). */
  static final int MAX_SESSIONS_PER_SEARCH = 256;
  private static final Set<String> CONTROL_PARAMS = Set.of("_count", "_offset", "_format", "_pretty",
      "_summary", "_elements");

  private final Class<? extends IBaseResource> type;
  private final String typeName;
  private final FhirContext ctx;
  private final FhirResourceRepository repository;
  private final LaunchContextStore contexts;
  private final ContextManager manager;
  private final AccessRules access;
  private final WriteBudget budget;
  private final AuditSink audit;
  private final Clock clock;
  private final int maxSearchResults;

  public SessionResourceProvider(String typeName, FhirContext ctx,
      FhirResourceRepository repository, LaunchContextStore contexts, ContextManager manager,
      AccessRules access, WriteBudget budget, AuditSink audit, Clock clock, int maxSearchResults) {
    this.typeName = typeName;
    this.type = ctx.getResourceDefinition(typeName).getImplementingClass();
    this.ctx = ctx;
    this.repository = repository;
    this.contexts = contexts;
    this.manager = manager;
    this.access = access;
    this.budget = budget;
    this.audit = audit;
    this.clock = clock;
    this.maxSearchResults = maxSearchResults;
  }

  @Override
  public Class<? extends IBaseResource> getResourceType() {
    return type;
  }

  @Read(version = true)
  public IBaseResource read(@IdParam IdType id, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access a = require(p, Interaction.READ);
    Optional<Resource> r = id.hasVersionIdPart()
        ? repository.vread(typeName, id.getIdPart(), id.getVersionIdPart())
        : repository.read(typeName, id.getIdPart());
    if (r.isEmpty() || !access.visible(p, a, r.get())) {
      // not found and not yours answer alike: ids of other sessions are not revealed
      throw Errors.of(404, typeName, typeName + "/" + id.getIdPart() + " is not known");
    }
    Audits.record(audit, "read", AuditEventAction.R, true, p.clientId(), p.subject().orElse(null),
        typeName + "/" + id.getIdPart(), clock.instant());
    return r.get();
  }

  @Search(allowUnknownParams = true)
  public IBundleProvider search(
      @OptionalParam(name = "_id") TokenParam id,
      @OptionalParam(name = "patient") ReferenceParam patient,
      @OptionalParam(name = "subject") ReferenceParam subject,
      @OptionalParam(name = "encounter") ReferenceParam encounter,
      @OptionalParam(name = "identifier") TokenParam identifier,
      @OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
      @Offset Integer offset,
      @Count Integer count,
      RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access a = require(p, Interaction.SEARCH);
    checkParameters(rd.getParameters());
    if (offset != null && offset < 0) {
      throw Errors.of(400, "_offset", "_offset must be 0 or more");
    }
    if (count != null && count < 1) {
      throw Errors.of(400, "_count", "_count must be 1 or more");
    }
    SearchCriteria.Builder c = SearchCriteria.builder();
    String patientRef = patient != null ? ref(patient, "Patient") : null;
    String subjectRef = subject != null ? ref(subject, "Patient") : null;
    if (patientRef != null && subjectRef != null && !patientRef.equals(subjectRef)) {
      return new SimpleBundleProvider(); // both must hold: no resource has two subjects
    }
    if (patientRef == null) {
      patientRef = subjectRef;
    }
    String idValue = id == null ? null : id.getValue();
    if (a == SmartScopes.Access.PATIENT_COMPARTMENT) {
      String own = "Patient/" + p.patient().orElseThrow(() ->
          Errors.of(403, "", "patient/ scopes need a launch with a patient in context"));
      if (typeName.equals("Patient")) {
        if (patientRef != null) {
          throw Errors.of(400, "patient", "Patient has no search parameter patient here; use _id");
        }
        if (idValue != null && !idValue.equals(own.substring(8))) {
          return new SimpleBundleProvider(); // another patient: not visible under patient/ scopes
        }
        idValue = own.substring(8);
      } else {
        if (patientRef != null && !patientRef.equals(own)) {
          throw Errors.of(403, "patient", "patient/ scopes reach only the patient in context");
        }
        patientRef = own;
      }
    }
    if (idValue != null) {
      c.id(idValue);
    }
    if (patientRef != null) {
      c.patient(patientRef);
    }
    if (encounter != null) {
      c.encounter(ref(encounter, "Encounter"));
    }
    if (identifier != null) {
      if (identifier.getValue() == null || identifier.getValue().isEmpty()) {
        throw Errors.of(400, "identifier", "identifier needs a value (system|value or value)");
      }
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
    // other sessions' data is filtered out by the repository, before the limit counts it
    // each session is judged once per search (the store may be a database round trip), and a
    // search that would judge more than MAX_SESSIONS_PER_SEARCH sessions must be narrowed
    Map<String, Boolean> judged = new HashMap<>();
    c.sessionFilter(session -> session == null || judged.computeIfAbsent(session, s -> {
      if (judged.size() >= MAX_SESSIONS_PER_SEARCH) {
        throw Errors.of(422, "", "the search reaches the resources of too many launch sessions;"
            + " narrow it (patient, encounter, identifier, _lastUpdated)");
      }
      return access.sessionVisible(p, s);
    }));
    List<Resource> found = repository.search(typeName, c.limit(maxSearchResults + 1).build());
    if (found.size() > maxSearchResults) {
      throw Errors.of(422, "", "the search matches more than " + maxSearchResults
          + " resources; narrow it (patient, encounter, identifier, _lastUpdated)");
    }
    List<IBaseResource> out = new ArrayList<>();
    for (Resource r : found) {
      if (access.visible(p, a, r)) {
        out.add(r);
      }
    }
    Audits.record(audit, "search", AuditEventAction.E, true, p.clientId(),
        p.subject().orElse(null), typeName, clock.instant());
    return page(out, offset, count);
  }

  /**
   * Stateless paging, so that any node can serve any page: every page runs the search again as
   * its caller (what it may see is judged afresh) and HAPI writes the next and previous links
   * with {@code _offset} and {@code _count}. Results go in a stable order (by id).
   */
  static IBundleProvider page(List<IBaseResource> all, Integer offset, Integer count) {
    all.sort(Comparator.comparing(r -> r.getIdElement().getIdPart(),
        Comparator.nullsFirst(Comparator.naturalOrder())));
    if (offset == null) {
      return new SimpleBundleProvider(all); // HAPI cuts the first page
    }
    int size = count != null ? count : DEFAULT_PAGE_SIZE;
    int from = Math.min(offset, all.size());
    SimpleBundleProvider out = new SimpleBundleProvider(
        new ArrayList<>(all.subList(from, Math.min(all.size(), from + Math.min(size, all.size())))));
    out.setSize(all.size());
    return out;
  }

  /**
   * Refuses what this server does not implement instead of ignoring it: unknown parameters
   * ({@code _has}, {@code _include}, {@code _sort}, chains...), modifiers other than a type on a
   * reference, OR lists, and repeated parameters.
   */
  private static void checkParameters(Map<String, String[]> params) {
    for (Map.Entry<String, String[]> e : params.entrySet()) {
      String name = e.getKey();
      int colon = name.indexOf(':');
      String base = colon < 0 ? name : name.substring(0, colon);
      if (CONTROL_PARAMS.contains(name)) {
        continue;
      }
      if (!SEARCH_PARAMS.contains(base)) {
        throw Errors.of(400, name, "search parameter '" + abbreviate(name) + "' is not supported"
            + " here; use _id, patient, subject, encounter, identifier or _lastUpdated");
      }
      if (colon >= 0) {
        String modifier = name.substring(colon + 1);
        boolean typeModifier = (base.equals("patient") || base.equals("subject"))
            && modifier.equals("Patient") || base.equals("encounter") && modifier.equals("Encounter");
        if (!typeModifier) {
          throw Errors.of(400, name, "modifier :" + abbreviate(modifier) + " is not supported on "
              + base);
        }
      }
      int max = base.equals("_lastUpdated") ? 2 : 1;
      if (e.getValue().length > max) {
        throw Errors.of(400, name, "search parameter " + base + " may appear "
            + (max == 1 ? "once" : "at most twice"));
      }
      for (String v : e.getValue()) {
        if (v != null && v.replace("\\,", "").contains(",")) {
          throw Errors.of(400, name, "OR lists (a,b) are not supported; search once per value");
        }
      }
    }
  }

  @Create
  public MethodOutcome create(@ResourceParam IBaseResource resource, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access a = require(p, Interaction.CREATE);
    Resource r = (Resource) resource;
    checkCompartment(p, a, r);
    r.setId((String) null);
    String session = p.sessionId().orElse(null);
    FhirResourceRepository.tagSession(r, session);
    long bytes = bodyBytes(rd);
    if (session != null) {
      budget.charge(session, bytes, 1);
    }
    Resource stored;
    try {
      stored = repository.create(r);
    } catch (FhirRepositoryException e) {
      if (session != null) {
        budget.refund(session, bytes, 1);
      }
      throw Errors.of(e);
    }
    String ref = typeName + "/" + stored.getIdElement().getIdPart();
    if (session != null && !contexts.addResource(session, ref, clock.instant())) {
      repository.delete(typeName, stored.getIdElement().getIdPart());
      throw Errors.of(401, "", "the launch this token belongs to has ended");
    }
    Audits.record(audit, "create", AuditEventAction.C, true, p.clientId(),
        p.subject().orElse(null), ref, clock.instant());
    manager.fireChanged(stored, true, session);
    MethodOutcome mo = new MethodOutcome(stored.getIdElement(), true);
    mo.setResource(stored);
    return mo;
  }

  @Update
  public MethodOutcome update(@IdParam IdType id, @ResourceParam IBaseResource resource,
      RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access a = require(p, Interaction.UPDATE);
    Resource r = (Resource) resource;
    Optional<Resource> existing = repository.read(typeName, id.getIdPart());
    if (existing.isEmpty() || !access.visible(p, a, existing.get())) {
      throw Errors.of(404, typeName, typeName + "/" + id.getIdPart() + " is not known;"
          + " create new resources with POST");
    }
    checkCompartment(p, a, r);
    r.setId(id.getIdPart());
    r.getMeta().setTag(existing.get().getMeta().getTag());
    String session = FhirResourceRepository.sessionOf(existing.get()).orElse(null);
    long bytes = bodyBytes(rd);
    if (session != null) {
      budget.charge(session, bytes, 0);
    }
    Resource stored;
    try {
      stored = repository.updateExisting(r).orElseThrow(() -> Errors.of(404, typeName,
          typeName + "/" + id.getIdPart() + " is not known; create new resources with POST"));
    } catch (FhirRepositoryException e) {
      if (session != null) {
        budget.refund(session, bytes, 0);
      }
      throw Errors.of(e);
    }
    Audits.record(audit, "update", AuditEventAction.U, true, p.clientId(),
        p.subject().orElse(null), typeName + "/" + id.getIdPart(), clock.instant());
    manager.fireChanged(stored, false, session);
    MethodOutcome mo = new MethodOutcome(stored.getIdElement(), false);
    mo.setResource(stored);
    return mo;
  }

  @Delete
  public MethodOutcome delete(@IdParam IdType id, RequestDetails rd) {
    Principal p = AuthInterceptor.principal(rd);
    SmartScopes.Access a = require(p, Interaction.DELETE);
    Optional<Resource> existing = repository.read(typeName, id.getIdPart());
    if (existing.isEmpty() || !access.visible(p, a, existing.get())) {
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

  private void checkCompartment(Principal p, SmartScopes.Access a, Resource r) {
    if (a == SmartScopes.Access.PATIENT_COMPARTMENT) {
      Optional<String> target = PatientCompartment.patientOf(ctx, r);
      if (p.patient().isEmpty() || !target.equals(Optional.of("Patient/" + p.patient().get()))) {
        throw Errors.of(403, typeName + ".subject",
            "patient/ scopes may write only resources of the patient in context");
      }
    }
  }

  private static long bodyBytes(RequestDetails rd) {
    byte[] b = rd.loadRequestContents();
    return b == null ? 0 : b.length;
  }

  private static String ref(ReferenceParam p, String defaultType) {
    String type = p.getResourceType() != null ? p.getResourceType() : defaultType;
    String id = p.getIdPart();
    if (id == null || id.isEmpty()) {
      throw Errors.of(400, defaultType.toLowerCase(java.util.Locale.ROOT),
          "a reference search needs an id (Type/id or id)");
    }
    return type + "/" + id;
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
