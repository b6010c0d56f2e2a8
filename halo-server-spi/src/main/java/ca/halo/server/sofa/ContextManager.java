package ca.halo.server.sofa;

import ca.halo.core.FhirContextItem;
import ca.halo.core.LaunchContext;
import ca.halo.core.SetContextDefaults;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.context.ContextStoreFullException;
import ca.halo.server.context.OwnerShareExceededException;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.SearchCriteria;
import ca.halo.server.internal.Audits;
import ca.halo.server.security.Principal;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Type;
import org.hl7.fhir.r4.model.UriType;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SoFA Context Manager: {@code $set-context} and {@code $clear-context}, free of HTTP.
 *
 * <pre>{@code
 * ContextManager cm = ContextManager.builder(repository, store).build();
 * Parameters out = cm.setContext(in, caller);   // launchID + resourcesResponse
 * cm.clearContext(clearIn, caller);
 * }</pre>
 *
 * <p>Thread-safe. Every refused request throws {@link ContextOperationException} carrying the HTTP status and
 * the parameter or entry at fault, and leaves nothing behind: the Bundle is checked whole before
 * the repository's atomic transaction runs, and a context that cannot be stored has its resources
 * deleted again.
 *
 * <p>Spec: HALO CA:SoFA-1 ({@code set-context-input-parameters},
 * {@code set-context-output-parameters}), CA:SoFA-2, and the decisions in our HALO reading:
 * allowed types, reference rules, 128+-bit launch ids bound to the caller, time-to-live.
 */
public final class ContextManager {
  private static final Logger LOG = LoggerFactory.getLogger(ContextManager.class);
  /** Expired contexts listed per round of a sweep. */
  private static final int EXPIRY_BATCH = 200;

  private static final Set<String> SINGLE = Set.of("appID", "patient", "encounter", "fhirUser",
      "need_patient_banner", "intent", "smart_style_url", "tenant", "resources");

  private final FhirResourceRepository repository;
  private final LaunchContextStore store;
  private final AuditSink audit;
  private final Clock clock;
  private final Set<String> allowedTypes;
  private final Duration timeToLive;
  private final ResourceValidator validator;
  private final Set<String> writeScopes;
  private final Set<String> adminScopes;
  private final boolean requireSameUser;
  private final int maxEntries;
  private final int maxContextsPerOwner;
  private final long maxContextBytesPerOwner;
  private final java.util.function.Predicate<String> appIds;
  /**
   * One String per app id (the catalog's handful), shared by every live context of that app
   * rather than one copy each (issue 18); bounded in count and length, past which ids are kept
   * as they came.
   */
  private final Map<String, String> appIdInstances = new java.util.concurrent.ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final List<ResourceChangeListener> listeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<StoredContext>> endListeners = new CopyOnWriteArrayList<>();

  private ContextManager(Builder b) {
    this.repository = b.repository;
    this.store = b.store;
    this.audit = b.audit;
    this.clock = b.clock;
    this.allowedTypes = Set.copyOf(b.allowedTypes);
    this.timeToLive = b.timeToLive;
    this.validator = b.validator;
    this.writeScopes = Set.copyOf(b.writeScopes);
    this.adminScopes = Set.copyOf(b.adminScopes);
    this.requireSameUser = b.requireSameUser;
    this.maxEntries = b.maxEntries;
    this.maxContextsPerOwner = b.maxContextsPerOwner;
    this.maxContextBytesPerOwner = b.maxContextBytesPerOwner;
    this.appIds = b.appIds;
  }

  public static Builder builder(FhirResourceRepository repository, LaunchContextStore store) {
    return new Builder(repository, store);
  }

  public Set<String> allowedTypes() {
    return allowedTypes;
  }

  /** Told of creates and updates through the FHIR API (not of {@code $set-context} uploads). */
  public void addChangeListener(ResourceChangeListener l) {
    listeners.add(Objects.requireNonNull(l));
  }

  /** Told when a context ends (cleared or expired), after its resources are gone. */
  public void addEndListener(Consumer<StoredContext> l) {
    endListeners.add(Objects.requireNonNull(l));
  }

  /**
   * Notifies change listeners; the FHIR layer calls it for every create and update through the
   * FHIR API ({@code sessionId} null for the server's own data). {@link #setContext} does not
   * call it: see {@link ResourceChangeListener} for why uploads are not announced.
   */
  public void fireChanged(Resource r, boolean created, String sessionId) {
    for (ResourceChangeListener l : listeners) {
      try {
        l.changed(r.copy(), created, sessionId);
      } catch (RuntimeException e) {
        LOG.warn("a resource change listener failed ({})", e.getClass().getSimpleName());
      }
    }
  }

  /** Whether {@code caller} holds one of the scopes that allow {@code $set-context}. */
  public boolean mayWriteContext(Principal caller) {
    return writeScopes.stream().anyMatch(caller.scopes()::contains)
        || adminScopes.stream().anyMatch(caller.scopes()::contains);
  }

  // ---------------------------------------------------------------- $set-context

  /**
   * CA:SoFA-1. Checks every parameter and entry, stores the Bundle atomically, and returns
   * {@code launchID} and {@code resourcesResponse}.
   *
   * @throws ContextOperationException 400 malformed input, 403 missing scope, 404 unknown existing reference,
   *     422 a resource breaks its profile, 503 store full
   */
  public Parameters setContext(Parameters in, Principal caller) {
    return setContext(in, caller, 0);
  }

  /**
   * {@link #setContext(Parameters, Principal)}, counting {@code sizeBytes} (the request body's
   * size) against the caller's budget of live context bytes.
   */
  public Parameters setContext(Parameters in, Principal caller, long sizeBytes) {
    Objects.requireNonNull(in, "in");
    if (!mayWriteContext(caller)) {
      throw new ContextOperationException(403, "", "$set-context needs one of the scopes " + writeScopes);
    }
    // A token whose subject is its own client (this SoFA's client_credentials tokens) binds the
    // context to a "user" nobody signs in as: refuse it rather than store a context no one can
    // launch. A token with no subject at all (some IdPs omit sub) leaves launches unbound, as
    // before; an IdP's service account with a subject of its own cannot be told from a user.
    if (requireSameUser && caller.subject().isPresent() && !caller.hasUser()) {
      throw new ContextOperationException(403, "", "this SoFA binds every launch to the clinician who set its"
          + " context, and this token names no user (a client_credentials token): sign the"
          + " clinician in (authorization code) and set the context with that token");
    }
    SetContextInput input = parse(in);
    resolve(input);
    return write(input, caller, sizeBytes);
  }

  /**
   * What a {@code $set-context} call asks for, read from its Parameters; {@link #resolve} adds the
   * checked Bundle and references, {@link #write} stores it.
   */
  private static final class SetContextInput {
    final Map<String, ParametersParameterComponent> params = new HashMap<>();
    final List<ParametersParameterComponent> fhirContext = new ArrayList<>();
    String appId;
    Boolean banner;
    String intent;
    String tenant;
    URI style;
    Bundle bundle;
    final Map<String, String> entryTypes = new HashMap<>();
    String patientRef;
    String encounterRef;
    String fhirUserRef;
    final List<String> contextRefs = new ArrayList<>();
  }

  /** Step 1: the parameters by name, each of the right type and count; nothing is looked up yet. */
  private SetContextInput parse(Parameters in) {
    SetContextInput x = new SetContextInput();
    Map<String, ParametersParameterComponent> params = x.params;
    List<ParametersParameterComponent> fhirContext = x.fhirContext;
    for (int i = 0; i < in.getParameter().size(); i++) {
      ParametersParameterComponent p = in.getParameter().get(i);
      String name = p.getName();
      String where = "Parameters.parameter[" + i + "]";
      if (name == null) {
        throw new ContextOperationException(400, where, "a parameter has no name");
      }
      if (name.equals("fhirContext")) {
        fhirContext.add(p);
      } else if (SINGLE.contains(name)) {
        if (params.put(name, p) != null) {
          throw new ContextOperationException(400, name, "parameter '" + name + "' may appear at most once");
        }
      } else {
        throw new ContextOperationException(400, name, "unknown parameter '" + name + "'; $set-context takes "
            + "appID, patient, encounter, fhirContext, fhirUser, need_patient_banner, intent,"
            + " smart_style_url, tenant, resources");
      }
      if (!p.getPart().isEmpty()) {
        throw new ContextOperationException(400, name, "parameter '" + name + "' must not have parts");
      }
    }
    x.appId = string(params.get("appID"), "appID");
    Boolean banner = null;
    if (params.containsKey("need_patient_banner")) {
      Type v = params.get("need_patient_banner").getValue();
      if (!(v instanceof BooleanType) || ((BooleanType) v).getValue() == null) {
        throw new ContextOperationException(400, "need_patient_banner", "need_patient_banner must be a valueBoolean");
      }
      banner = ((BooleanType) v).getValue();
    }
    x.banner = banner;
    x.intent = string(params.get("intent"), "intent");
    x.tenant = string(params.get("tenant"), "tenant");
    URI style = null;
    if (params.containsKey("smart_style_url")) {
      Type v = params.get("smart_style_url").getValue();
      if (!(v instanceof UriType) || ((UriType) v).getValue() == null) {
        throw new ContextOperationException(400, "smart_style_url", "smart_style_url must be a valueUrl");
      }
      try {
        style = URI.create(((UriType) v).getValue());
      } catch (IllegalArgumentException e) {
        throw new ContextOperationException(400, "smart_style_url", "smart_style_url is not a URL");
      }
      if (!style.isAbsolute()) {
        throw new ContextOperationException(400, "smart_style_url", "smart_style_url must be absolute");
      }
    }
    x.style = style;
    return x;
  }

  /**
   * Step 2: the app is one of the catalog's, the Bundle is checked whole, and every reference
   * leads to an entry of it or to a resource already in the SoFA, before anything is written.
   */
  private void resolve(SetContextInput x) {
    if (x.appId != null && !appIds.test(x.appId)) {
      throw new ContextOperationException(422, "appID", "appID names no active app of this jurisdiction's"
          + " App Catalog");
    }
    x.appId = oneInstance(x.appId);
    Map<String, ParametersParameterComponent> params = x.params;
    Map<String, String> entryTypes = x.entryTypes;

    // the Bundle: checked whole before anything is written
    if (params.containsKey("resources")) {
      ParametersParameterComponent rp = params.get("resources");
      if (rp.getValue() != null || !(rp.getResource() instanceof Bundle)) {
        throw new ContextOperationException(400, "resources", "resources must carry a Bundle as its resource");
      }
      x.bundle = (Bundle) rp.getResource();
      checkBundle(x.bundle, entryTypes);
    }

    // references: to an entry of the Bundle, or to a resource already in the SoFA
    x.patientRef = reference(params.get("patient"), "patient", Set.of("Patient"), entryTypes);
    x.encounterRef = reference(params.get("encounter"), "encounter", Set.of("Encounter"),
        entryTypes);
    x.fhirUserRef = reference(params.get("fhirUser"), "fhirUser",
        Set.of("Practitioner", "PractitionerRole"), entryTypes);
    for (int i = 0; i < x.fhirContext.size(); i++) {
      x.contextRefs.add(reference(x.fhirContext.get(i), "fhirContext[" + i + "]", allowedTypes,
          entryTypes));
    }
  }

  /**
   * Step 3: the Bundle as one transaction (tagged with a new session), then the context; if the
   * context cannot be stored, what the transaction created is deleted again.
   */
  private Parameters write(SetContextInput x, Principal caller, long sizeBytes) {
    Bundle bundle = x.bundle;

    // write: one atomic transaction
    String sessionId = randomId(16);
    Instant now = clock.instant();
    Bundle response = null;
    Map<String, String> newRefs = new HashMap<>();
    Set<String> created = new LinkedHashSet<>();
    if (bundle != null) {
      Bundle tagged = bundle.copy();
      for (BundleEntryComponent e : tagged.getEntry()) {
        // only the server names a session: a caller's own session tags would plant the
        // resource in another clinician's launch
        FhirResourceRepository.tagSession(e.getResource(), sessionId);
      }
      try {
        response = repository.transaction(tagged);
      } catch (FhirRepositoryException e) {
        throw new ContextOperationException(e.httpStatus() == 503 ? 503 : e.httpStatus(),
            "resources." + e.location(), e.getMessage());
      }
      List<String> refs = checkCreated(bundle, response);
      for (int i = 0; i < refs.size(); i++) {
        newRefs.put(bundle.getEntry().get(i).getFullUrl(), refs.get(i));
        created.add(refs.get(i));
      }
    }
    LaunchContext.Builder lc = LaunchContext.builder();
    if (x.patientRef != null) {
      lc.patient(idPart(newRefs.getOrDefault(x.patientRef, x.patientRef)));
    }
    if (x.encounterRef != null) {
      lc.encounter(idPart(newRefs.getOrDefault(x.encounterRef, x.encounterRef)));
    }
    if (x.fhirUserRef != null) {
      lc.fhirUser(newRefs.getOrDefault(x.fhirUserRef, x.fhirUserRef));
    }
    for (String r : x.contextRefs) {
      lc.addFhirContext(FhirContextItem.reference(newRefs.getOrDefault(r, r)));
    }
    if (x.banner != null) {
      lc.needPatientBanner(x.banner);
    }
    if (x.style != null) {
      lc.smartStyleUrl(x.style);
    }
    lc.intent(x.intent).tenant(x.tenant);
    String launchId = randomId(32);
    StoredContext.Builder sb = StoredContext.builder()
        .launchId(launchId).sessionId(sessionId)
        .ownerClientId(caller.clientId()).ownerSubject(caller.subject().orElse(null))
        .appId(x.appId).context(lc.build()).createdAt(now).expiresAt(now.plus(timeToLive))
        .sizeBytes(sizeBytes);
    created.forEach(sb::addResource);
    StoredContext stored = sb.build();
    try {
      // the caller's share (contexts and bytes) is checked by the store, on every node at once
      store.create(stored, maxContextsPerOwner, maxContextBytesPerOwner);
    } catch (OwnerShareExceededException e) {
      deleteAll(created);
      throw new ContextOperationException(429, "", e.getMessage());
    } catch (ContextStoreFullException | IllegalStateException e) {
      deleteAll(created);
      throw new ContextOperationException(503, "", "the SoFA holds its maximum of live contexts; retry later");
    } catch (RuntimeException e) {
      // the store failed (a shared database out of reach): nothing of this context stays behind
      deleteAll(created);
      LOG.warn("the launch context store failed ({}); $set-context refused",
          e.getClass().getSimpleName());
      throw new ContextOperationException(503, "", "the SoFA cannot store launch contexts now; retry later");
    }
    Audits.record(audit, "set-context", AuditEventAction.C, true, caller.clientId(),
        caller.subject().orElse(null), null, now);
    LOG.debug("context set by {} with {} resource(s)", caller.clientId(), created.size());
    Parameters out = new Parameters();
    out.addParameter().setName("launchID").setValue(new StringType(launchId));
    if (response != null) {
      out.addParameter().setName("resourcesResponse").setResource(response);
    }
    return out;
  }

  private String oneInstance(String appId) {
    if (appId == null || appId.length() > 64) {
      return appId;
    }
    String known = appIdInstances.get(appId);
    if (known != null) {
      return known;
    }
    if (appIdInstances.size() >= 1_024) {
      return appId;
    }
    String raced = appIdInstances.putIfAbsent(appId, appId);
    return raced == null ? appId : raced;
  }

  private void checkBundle(Bundle bundle, Map<String, String> entryTypes) {
    if (bundle.getType() != Bundle.BundleType.TRANSACTION) {
      throw new ContextOperationException(400, "resources.type",
          "resources must be a Bundle of type transaction, not " + bundle.getType());
    }
    if (bundle.getEntry().size() > maxEntries) {
      throw new ContextOperationException(413, "resources.entry", "resources has " + bundle.getEntry().size()
          + " entries; this SoFA accepts at most " + maxEntries + " per $set-context");
    }
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      BundleEntryComponent e = bundle.getEntry().get(i);
      String where = "resources.entry[" + i + "]";
      if (!e.hasFullUrl()) {
        throw new ContextOperationException(400, where + ".fullUrl", "every entry needs a fullUrl");
      }
      String fullUrl = e.getFullUrl();
      if (!(fullUrl.startsWith("urn:uuid:") || fullUrl.startsWith("urn:oid:")
          || fullUrl.startsWith("https://") || fullUrl.startsWith("http://"))) {
        // FHIR: absolute (a "#p" would make the parser link "#p" references to this entry)
        throw new ContextOperationException(400, where + ".fullUrl",
            "fullUrl must be absolute: urn:uuid:, urn:oid: or an http(s) URL");
      }
      if (!e.hasRequest() || e.getRequest().getMethod() != Bundle.HTTPVerb.POST) {
        throw new ContextOperationException(400, where + ".request.method",
            "every entry must have request.method POST");
      }
      Bundle.BundleEntryRequestComponent rq = e.getRequest();
      if (rq.hasIfNoneExist() || rq.hasIfMatch() || rq.hasIfNoneMatch() || rq.hasIfModifiedSince()) {
        // a conditional create would make the server name a resource already there (another
        // session's): the context would then point at it, and $clear-context delete it
        throw new ContextOperationException(400, where + ".request",
            "conditional requests (ifNoneExist, ifMatch, ifNoneMatch, ifModifiedSince) are not"
            + " accepted: every entry creates a new resource");
      }
      if (!e.hasResource()) {
        throw new ContextOperationException(400, where + ".resource", "every entry needs a resource");
      }
      String type = e.getResource().fhirType();
      if (!allowedTypes.contains(type)) {
        throw new ContextOperationException(400, where + ".resource",
            "resource type " + type + " is not accepted by this SoFA");
      }
      if (e.getRequest().hasUrl() && !e.getRequest().getUrl().equals(type)) {
        throw new ContextOperationException(400, where + ".request.url",
            "request.url must be the resource type " + type);
      }
      if (entryTypes.put(e.getFullUrl(), type) != null) {
        throw new ContextOperationException(400, where + ".fullUrl", "fullUrl appears twice in the Bundle");
      }
      List<String> problems = validator.validate(e.getResource());
      if (!problems.isEmpty()) {
        throw new ContextOperationException(422, where + ".resource", String.join("; ", problems));
      }
    }
  }

  private String reference(ParametersParameterComponent p, String name, Set<String> types,
      Map<String, String> entryTypes) {
    if (p == null) {
      return null;
    }
    if (!(p.getValue() instanceof Reference) || !((Reference) p.getValue()).hasReference()) {
      throw new ContextOperationException(400, name, name + " must be a valueReference with a reference");
    }
    String ref = ((Reference) p.getValue()).getReference();
    if (entryTypes.containsKey(ref)) {
      String type = entryTypes.get(ref);
      if (!types.contains(type)) {
        throw new ContextOperationException(400, name, name + " must point to " + String.join(" or ", types)
            + ", not to a " + type + " entry");
      }
      return ref;
    }
    String[] parts = ref.split("/");
    if (parts.length != 2 || parts[1].isBlank()) {
      throw new ContextOperationException(400, name, name + " must be an entry fullUrl of resources or a"
          + " relative reference Type/id; '" + abbreviate(ref) + "' is neither");
    }
    if (!types.contains(parts[0])) {
      throw new ContextOperationException(400, name, name + " must point to " + String.join(" or ", types)
          + ", not to " + parts[0]);
    }
    if (repository.read(parts[0], parts[1]).isEmpty()) {
      throw new ContextOperationException(404, name, name + " points to " + parts[0]
          + " that does not exist on this SoFA");
    }
    return ref;
  }

  private static String string(ParametersParameterComponent p, String name) {
    if (p == null) {
      return null;
    }
    if (!(p.getValue() instanceof StringType) || ((StringType) p.getValue()).getValue() == null) {
      throw new ContextOperationException(400, name, name + " must be a valueString");
    }
    return ((StringType) p.getValue()).getValue();
  }

  // ---------------------------------------------------------------- $clear-context

  /**
   * CA:SoFA-2. Deletes the context and every resource of its session.
   *
   * @throws ContextOperationException 400 malformed input; 404 unknown, expired, already cleared, or set by
   *     another caller (the answer does not say which)
   */
  public Parameters clearContext(Parameters in, Principal caller) {
    String launchId = null;
    for (int i = 0; i < in.getParameter().size(); i++) {
      ParametersParameterComponent p = in.getParameter().get(i);
      if (!"launchID".equals(p.getName())) {
        throw new ContextOperationException(400, String.valueOf(p.getName()),
            "unknown parameter '" + p.getName() + "'; $clear-context takes launchID");
      }
      if (launchId != null) {
        throw new ContextOperationException(400, "launchID", "launchID may appear once");
      }
      launchId = string(p, "launchID");
    }
    if (launchId == null || launchId.isBlank()) {
      throw new ContextOperationException(400, "launchID", "launchID is required");
    }
    Instant now = clock.instant();
    Optional<StoredContext> ctx = store.find(launchId, now);
    boolean admin = adminScopes.stream().anyMatch(caller.scopes()::contains);
    if (ctx.isEmpty() || (!admin && !ctx.get().ownerKey().equals(caller.bindingKey()))) {
      throw new ContextOperationException(404, "launchID", "no live context with this launchID for this caller");
    }
    // the resources first, then the context: a failure in between leaves the context (the caller
    // may clear it again), never resources that no context names
    int deleted = deleteResources(ctx.get());
    if (deleted < 0) {
      throw new ContextOperationException(503, "", "the SoFA could not delete this context's resources now;"
          + " the context stays: retry $clear-context later");
    }
    Optional<StoredContext> removed = store.delete(launchId);
    if (removed.isEmpty()) {
      throw new ContextOperationException(404, "launchID", "no live context with this launchID for this caller");
    }
    deleted += ended(removed.get(), ctx.get());
    Audits.record(audit, "clear-context", AuditEventAction.D, true, caller.clientId(),
        caller.subject().orElse(null), null, now);
    OperationOutcome oo = new OperationOutcome();
    oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION)
        .setCode(OperationOutcome.IssueType.INFORMATIONAL)
        .setDiagnostics("context cleared; " + deleted + " resource(s) deleted");
    Parameters out = new Parameters();
    out.addParameter().setName("outcome").setResource(oo);
    return out;
  }

  /** Deletes every context expired now and its resources. Returns how many ended. */
  public int expireNow() {
    int ended = 0;
    for (int round = 0; round < 100; round++) {
      List<StoredContext> expired = store.expired(clock.instant(), EXPIRY_BATCH);
      int left = 0;
      for (StoredContext c : expired) {
        // resources first: a node stopping here leaves the context for the next sweep
        if (deleteResources(c) < 0) {
          left++; // a resource could not be deleted: the context stays, to be tried again
          continue;
        }
        Optional<StoredContext> removed = store.delete(c.launchId());
        if (removed.isPresent()) { // another node may have taken it meanwhile
          ended(removed.get(), c);
          ended++;
          Audits.record(audit, "context-expiry", AuditEventAction.D, true, c.ownerClientId(), null,
              null, clock.instant());
        }
      }
      if (expired.size() < EXPIRY_BATCH || left == expired.size()) {
        break;
      }
    }
    return ended;
  }

  /**
   * Every entry of the transaction must have created a new resource (201 with a location of the
   * entry's type): anything else (a server that matched an existing resource, answered for
   * fewer or more entries) would let the context name, and later delete, a resource that is not
   * this session's. What the answer says was created is deleted again, and the request fails.
   */
  private List<String> checkCreated(Bundle request, Bundle response) {
    String problem = null;
    if (response.getEntry().size() != request.getEntry().size()) {
      problem = "answered " + response.getEntry().size() + " entries for "
          + request.getEntry().size();
    }
    Set<String> created = new LinkedHashSet<>();
    for (int i = 0; i < response.getEntry().size(); i++) {
      Bundle.BundleEntryResponseComponent r = response.getEntry().get(i).getResponse();
      // the location: Type/id[/_history/v], relative or absolute
      org.hl7.fhir.r4.model.IdType id = r.hasLocation()
          ? new org.hl7.fhir.r4.model.IdType(r.getLocation()) : null;
      String type = i < request.getEntry().size()
          ? request.getEntry().get(i).getResource().fhirType() : null;
      boolean made = r.getStatus() != null && r.getStatus().startsWith("201") && id != null
          && type != null && type.equals(id.getResourceType()) && id.hasIdPart()
          && id.getIdPart().indexOf('/') < 0;
      if (made) {
        created.add(type + "/" + id.getIdPart());
      } else if (problem == null) {
        problem = "answered " + (r.getStatus() == null ? "no status" : r.getStatus())
            + " for entry " + i + " instead of creating it";
      }
    }
    if (problem == null && created.size() != request.getEntry().size()) {
      problem = "named the same resource for two entries";
    }
    if (problem != null) {
      if (deleteAll(created) < 0) {
        LOG.warn("a refused $set-context left {} resources it could not delete", created.size());
      }
      throw new ContextOperationException(502, "resources",
          "the FHIR server behind the SoFA " + problem + "; nothing was stored");
    }
    return new ArrayList<>(created);
  }

  /**
   * Deletes a context's resources: those recorded, and any still tagged with its session.
   * Returns how many, or -1 if one could not be deleted (the context must then stay).
   */
  private int deleteResources(StoredContext c) {
    Set<String> refs = new LinkedHashSet<>(c.resources());
    try {
      for (String type : allowedTypes) {
        for (Resource r : repository.search(type, SearchCriteria.builder().sessionTag(c.sessionId()).build())) {
          refs.add(type + "/" + r.getIdElement().getIdPart());
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("could not list a session's resources ({}); its context stays",
          e.getClass().getSimpleName());
      return -1;
    }
    return deleteAll(refs);
  }

  /**
   * After the store gave up a context: deletes what was recorded for it since {@code listed} was
   * read, frees its owner's share and tells the end listeners. Returns the resources deleted.
   */
  private int ended(StoredContext removed, StoredContext listed) {
    Set<String> late = new LinkedHashSet<>(removed.resources());
    late.removeAll(listed.resources());
    int n = late.isEmpty() ? 0 : Math.max(0, deleteAll(late));
    for (Consumer<StoredContext> l : endListeners) {
      try {
        l.accept(removed);
      } catch (RuntimeException e) {
        LOG.warn("a context end listener failed ({})", e.getClass().getSimpleName());
      }
    }
    return n;
  }

  /**
   * Deletes every reference, the last recorded first: what was written later may name what was
   * written before (an Observation its Patient), and a server that refuses to delete a resource
   * still referenced (HAPI JPA by default) accepts them in this order. Returns how many existed,
   * or -1 if one could not be deleted.
   */
  private int deleteAll(Set<String> refs) {
    int n = 0;
    boolean failed = false;
    List<String> lastFirst = new ArrayList<>(refs);
    Collections.reverse(lastFirst);
    for (String ref : lastFirst) {
      String[] p = ref.split("/");
      try {
        if (repository.delete(p[0], p[1])) {
          n++;
        }
      } catch (RuntimeException e) {
        failed = true;
        LOG.warn("could not delete a session resource of type {} ({})", p[0],
            e instanceof FhirRepositoryException ? ((FhirRepositoryException) e).httpStatus()
                : e.getClass().getSimpleName());
      }
    }
    return failed ? -1 : n;
  }

  private static String idPart(String ref) {
    int slash = ref.indexOf('/');
    return slash < 0 ? ref : ref.substring(slash + 1);
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  private String randomId(int bytes) {
    byte[] b = new byte[bytes];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Builds a {@link ContextManager}. */
  public static final class Builder {
    private final FhirResourceRepository repository;
    private final LaunchContextStore store;
    private AuditSink audit = e -> { };
    private Clock clock = Clock.systemUTC();
    private Set<String> allowedTypes = SetContextDefaults.ALLOWED_RESOURCE_TYPES;
    private Duration timeToLive = Duration.ofHours(8);
    private ResourceValidator validator = ResourceValidator.none();
    private Set<String> writeScopes = SetContextDefaults.WRITE_SCOPES;
    private Set<String> adminScopes = Set.of("system/Context.admin");
    private boolean requireSameUser = true;
    private int maxEntries = 1_000;
    private int maxContextsPerOwner = 1_000;
    private long maxContextBytesPerOwner = 256L << 20;
    private java.util.function.Predicate<String> appIds = id -> true;

    private Builder(FhirResourceRepository repository, LaunchContextStore store) {
      this.repository = Objects.requireNonNull(repository, "repository");
      this.store = Objects.requireNonNull(store, "store");
    }

    public Builder audit(AuditSink v) { this.audit = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** The resource types {@code $set-context} accepts. Default {@link SetContextDefaults#ALLOWED_RESOURCE_TYPES}. */
    public Builder allowedTypes(Set<String> v) { this.allowedTypes = Set.copyOf(v); return this; }
    /** How long a context lives without {@code $clear-context}. Default 8 hours. */
    public Builder timeToLive(Duration v) { this.timeToLive = Objects.requireNonNull(v); return this; }
    public Builder validator(ResourceValidator v) { this.validator = Objects.requireNonNull(v); return this; }
    /** Scopes that allow {@code $set-context}; any one suffices. Default {@link SetContextDefaults#WRITE_SCOPES}. */
    public Builder writeScopes(Set<String> v) { this.writeScopes = Set.copyOf(v); return this; }
    /** Scopes that may clear any caller's context. Default {@code system/Context.admin}. */
    public Builder adminScopes(Set<String> v) { this.adminScopes = Set.copyOf(v); return this; }
    /**
     * Whether launches are bound to the clinician who set the context (default true). Then a
     * token that names no user (client_credentials) may not set contexts: nobody could launch
     * them.
     */
    public Builder requireSameUser(boolean v) { this.requireSameUser = v; return this; }
    /** Entries a {@code resources} Bundle may have. Default 1,000; more is answered 413. */
    public Builder maxEntries(int v) { this.maxEntries = v; return this; }
    /** Live contexts one caller (client and user) may hold. Default 1,000; more is answered 429. */
    public Builder maxContextsPerOwner(int v) { this.maxContextsPerOwner = v; return this; }
    /** Request bytes of one caller's live contexts. Default 256 MiB; more is answered 429. */
    public Builder maxContextBytesPerOwner(long v) { this.maxContextBytesPerOwner = v; return this; }
    /**
     * Which {@code appID}s are accepted (an active app of the App Catalog, when there is one);
     * others are answered 422. Default: any.
     */
    public Builder appIds(java.util.function.Predicate<String> v) { this.appIds = Objects.requireNonNull(v); return this; }

    public ContextManager build() {
      if (timeToLive.isNegative() || timeToLive.isZero()) {
        throw new IllegalStateException("timeToLive must be positive");
      }
      if (maxEntries < 1 || maxContextsPerOwner < 1 || maxContextBytesPerOwner < 1) {
        throw new IllegalStateException("maxEntries, maxContextsPerOwner and"
            + " maxContextBytesPerOwner must be positive");
      }
      return new ContextManager(this);
    }
  }
}
