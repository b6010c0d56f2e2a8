package ca.halo.sofa;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.LaunchInitiator;
import ca.halo.core.SetContextDefaults;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.internal.fhir.FhirCalls;
import ca.halo.core.internal.fhir.FhirPost;
import ca.halo.core.internal.fhir.ModelJson;
import ca.halo.core.internal.http.BearerTokenInterceptor;
import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import okhttp3.OkHttpClient;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.UrlType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PoC's Context Source (HALO CA:SoFA-1, CA:SoFA-2): sets a launch context on a SMART on FHIR
 * Accelerator, builds the app launch URL, and clears the context.
 *
 * <pre>{@code
 * SofaClient sofa = SofaClient.builder()
 *     .fhirBase(URI.create("https://sofa.example.ca/fhir"))
 *     .tokens(clinicianTokens)          // from SmartAppClient: auth code + PKCE at the IdP
 *     .build();
 * SetContextResult r = sofa.setContext(SetContextRequest.builder()
 *     .appId("growth-chart").patient(patient).encounter(encounter).fhirUser(practitioner)
 *     .build());
 * browser.open(sofa.launchUrl(appLaunchUrl, r.launchId()));
 * ...
 * sofa.clearContextQuietly(r.launchId());   // on logout or when the chart closes
 * }</pre>
 *
 * <p>The client builds the transaction Bundle itself: each uploaded resource gets a
 * {@code urn:uuid:} fullUrl and a POST entry, and references between uploaded resources (by
 * their local ids, {@code Patient/pat-123}) are rewritten to those fullUrls. It checks the request
 * locally first (allowed types, duplicate local ids) so a mistake fails before anything is sent.
 *
 * <p>Thread-safe; build once and share. {@link #close()} closes the {@link HaloHttp} only if the
 * client made it. Errors: {@link SofaResponseException} subclasses for refusals,
 * {@link HaloTransportException} when the SoFA cannot be reached.
 */
public final class SofaClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SofaClient.class);

  private final URI fhirBase;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final AccessTokenProvider tokens;
  /** HaloHttp's client with the bearer token: the usual $set-context goes straight over it. */
  private final OkHttpClient withToken;
  private final FhirContext givenContext;
  private final Set<String> allowedTypes;
  /** Made on first use: HAPI's context and client cost a model scan of every R4 class. */
  private volatile FhirContext ctx;
  private volatile IGenericClient fhir;

  private SofaClient(Builder b) {
    this.fhirBase = b.fhirBase;
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    this.tokens = b.tokens;
    this.givenContext = b.fhirContext;
    this.allowedTypes = Set.copyOf(b.allowedTypes);
    try {
      http.checkTransport(fhirBase);
    } catch (RuntimeException e) {
      if (ownsHttp) {
        http.close();
      }
      throw e;
    }
    this.withToken = http.okHttp().newBuilder().addInterceptor(new BearerTokenInterceptor(tokens))
        .build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The SoFA's FHIR base: the {@code iss} of every launch. */
  public URI fhirBase() {
    return fhirBase;
  }

  /**
   * A generic client on the SoFA with the same credentials, e.g. to read write-backs. Made on the
   * first call (which starts HAPI's model scan of the context, see {@link FhirClients}).
   */
  public IGenericClient fhir() {
    IGenericClient f = fhir;
    if (f == null) {
      synchronized (this) {
        f = fhir;
        if (f == null) {
          f = FhirClients.genericClient(context(), fhirBase, http, tokens);
          fhir = f;
        }
      }
    }
    return f;
  }

  /** The context given to the builder, or HAPI's shared R4 one, fetched on first use. */
  private FhirContext context() {
    FhirContext c = ctx;
    if (c == null) {
      c = givenContext != null ? givenContext : FhirContext.forR4Cached();
      ctx = c;
    }
    return c;
  }

  /**
   * CA:SoFA-1. Uploads the resources and context; returns the launch id and the id map.
   *
   * @throws IllegalArgumentException if the request fails the local checks (nothing was sent)
   * @throws SofaResponseException if the SoFA refused it (nothing was stored)
   */
  public SetContextResult setContext(SetContextRequest request) {
    Objects.requireNonNull(request, "request");
    List<Resource> uploads = request.uploads();
    Map<Resource, String> fullUrls = new IdentityHashMap<>();
    Map<String, String> localToUrn = new HashMap<>();
    Map<String, Resource> keys = new LinkedHashMap<>();
    for (int i = 0; i < uploads.size(); i++) {
      Resource r = uploads.get(i);
      if (!allowedTypes.contains(r.fhirType())) {
        throw new IllegalArgumentException("the SoFA does not accept " + r.fhirType()
            + " resources; allowed: " + allowedTypes);
      }
      String key = localKey(r, i);
      if (keys.put(key, r) != null) {
        throw new IllegalArgumentException("two uploaded resources share the local key " + key);
      }
      String urn = "urn:uuid:" + UUID.randomUUID();
      fullUrls.put(r, urn);
      if (r.getIdElement().hasIdPart()) {
        localToUrn.put(r.fhirType() + "/" + r.getIdElement().getIdPart(), urn);
      }
    }
    Bundle bundle = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    for (Resource r : uploads) {
      Resource copy = r.copy();
      copy.setId((String) null);
      ModelJson.forEachReference(copy, ref -> {
        String target = ref.getReference();
        if (ref.getResource() instanceof Resource && fullUrls.containsKey(ref.getResource())) {
          // an in-memory link to another upload (r.copy() keeps the object it points at)
          ref.setReference(fullUrls.get(ref.getResource()));
          ref.setResource(null);
        } else if (target != null && localToUrn.containsKey(stripHistory(target))) {
          ref.setReference(localToUrn.get(stripHistory(target)));
          ref.setResource(null);
        } else if (ref.getResource() instanceof Resource) {
          // HAPI's encoder contains such a target and gives it an id: on a copy, not the caller's
          ref.setResource(((Resource) ref.getResource()).copy());
        }
      });
      bundle.addEntry().setFullUrl(fullUrls.get(r)).setResource(copy).getRequest()
          .setMethod(Bundle.HTTPVerb.POST).setUrl(copy.fhirType());
    }
    Parameters in = new Parameters();
    request.appId().ifPresent(v -> in.addParameter().setName("appID").setValue(new StringType(v)));
    slot(in, "patient", request.patientSlot(), fullUrls);
    slot(in, "encounter", request.encounterSlot(), fullUrls);
    for (SetContextRequest.Slot s : request.fhirContextSlots()) {
      slot(in, "fhirContext", s, fullUrls);
    }
    slot(in, "fhirUser", request.fhirUserSlot(), fullUrls);
    request.needPatientBanner().ifPresent(v ->
        in.addParameter().setName("need_patient_banner").setValue(new BooleanType(v)));
    request.intent().ifPresent(v -> in.addParameter().setName("intent").setValue(new StringType(v)));
    request.smartStyleUrl().ifPresent(v ->
        in.addParameter().setName("smart_style_url").setValue(new UrlType(v.toString())));
    request.tenant().ifPresent(v -> in.addParameter().setName("tenant").setValue(new StringType(v)));
    if (!uploads.isEmpty()) {
      in.addParameter().setName("resources").setResource(bundle);
    }

    Parameters out = setContextCall(in);
    Parameters.ParametersParameterComponent launch = out.getParameter("launchID");
    if (launch == null || !(launch.getValue() instanceof StringType)
        || ((StringType) launch.getValue()).getValue() == null) {
      throw new HaloParseException("the SoFA's $set-context answer has no launchID");
    }
    Map<String, SofaResourceId> idMap = new LinkedHashMap<>();
    IdentityHashMap<Resource, SofaResourceId> byObject = new IdentityHashMap<>();
    Bundle response = null;
    if (!uploads.isEmpty()) {
      Parameters.ParametersParameterComponent rr = out.getParameter("resourcesResponse");
      if (rr == null || !(rr.getResource() instanceof Bundle)) {
        throw new HaloParseException("the SoFA's $set-context answer has no resourcesResponse");
      }
      response = (Bundle) rr.getResource();
      if (response.getEntry().size() != uploads.size()) {
        throw new HaloParseException("resourcesResponse has " + response.getEntry().size()
            + " entries for " + uploads.size() + " uploaded resources");
      }
      int i = 0;
      for (Map.Entry<String, Resource> e : keys.entrySet()) {
        Bundle.BundleEntryResponseComponent rc = response.getEntry().get(i++).getResponse();
        if (!rc.hasLocation()) {
          throw new HaloParseException("resourcesResponse entry " + (i - 1) + " has no location");
        }
        SofaResourceId id = SofaResourceId.fromLocation(rc.getLocation());
        if (!id.type().equals(e.getValue().fhirType())) {
          throw new HaloParseException("resourcesResponse entry " + (i - 1) + " is a " + id.type()
              + " but a " + e.getValue().fhirType() + " was uploaded there");
        }
        idMap.put(e.getKey(), id);
        byObject.put(e.getValue(), id);
      }
    }
    LOG.debug("context set on {} with {} resource(s)", fhirBase, uploads.size());
    return new SetContextResult(((StringType) launch.getValue()).getValue(), idMap, response,
        byObject);
  }

  /**
   * CA:SoFA-2. Ends the session: the SoFA deletes the context and every resource of it.
   *
   * @throws SofaResponseException.NotFound if the launch id is unknown, expired, or already cleared
   */
  public ClearContextResult clearContext(String launchId) {
    Objects.requireNonNull(launchId, "launchId");
    Parameters in = new Parameters();
    in.addParameter().setName("launchID").setValue(new StringType(launchId));
    Parameters out = call("$clear-context", in);
    List<OperationOutcome> outcomes = new ArrayList<>();
    for (Parameters.ParametersParameterComponent p : out.getParameter()) {
      if (p.getResource() instanceof OperationOutcome) {
        outcomes.add((OperationOutcome) p.getResource());
      }
    }
    return new ClearContextResult(outcomes, true);
  }

  /**
   * {@link #clearContext(String)} for logout paths: never throws; a failure is logged at WARN
   * (without the launch id) and reported as {@code cleared() == false}.
   */
  public ClearContextResult clearContextQuietly(String launchId) {
    try {
      return clearContext(launchId);
    } catch (RuntimeException e) {
      LOG.warn("$clear-context failed ({}); the SoFA will expire the context on its own",
          e.getClass().getSimpleName());
      OperationOutcome oo = new OperationOutcome();
      oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.WARNING)
          .setCode(OperationOutcome.IssueType.EXCEPTION).setDiagnostics(e.getMessage());
      return new ClearContextResult(List.of(oo), false);
    }
  }

  /** The app's launch URL with {@code iss} = this SoFA's FHIR base and {@code launch}. */
  public URI launchUrl(URI appLaunchUrl, String launchId) {
    return LaunchInitiator.launchUrl(appLaunchUrl, fhirBase, launchId);
  }

  /**
   * Sends a {@code $set-context}. The usual request is written without HAPI ({@link ModelJson})
   * and POSTed straight over OkHttp, and the usual answer is read without HAPI
   * ({@link SetContextAnswers}): on an EMR's first launch HAPI's context would first load every
   * R4 class. Anything else (a resource ModelJson leaves to HAPI, an answer of another shape, a
   * refusal) goes through HAPI's parser, read as HAPI's generic client reads it.
   */
  private Parameters setContextCall(Parameters in) {
    String operation = "$set-context";
    Optional<byte[]> body = ModelJson.write(in);
    if (body.isEmpty()) {
      return call(operation, in);
    }
    FhirPost.Answer a = FhirPost.post(withToken, fhirBase, operation, body.get());
    if (!a.successful()) {
      throw refused(FhirPost.refusal(context(), operation, a));
    }
    Parameters out = SetContextAnswers.read(a.body(), countEntries(in));
    return out != null ? out : FhirPost.parameters(context(), operation, a);
  }

  /** The entries of the transaction Bundle in {@code in}: the most the usual answer holds. */
  private static int countEntries(Parameters in) {
    Parameters.ParametersParameterComponent r = in.getParameter("resources");
    return r != null && r.getResource() instanceof Bundle ? ((Bundle) r.getResource()).getEntry().size() : 0;
  }

  /** Sends {@code in} to the operation through HAPI's generic client. */
  private Parameters call(String operation, Parameters in) {
    return FhirCalls.call(operation, fhirBase,
        () -> fhir().operation().onServer().named(operation).withParameters(in).execute(),
        SofaClient::refused);
  }

  /** The SoFA's refusal as the {@link SofaResponseException} subclass that names its cause. */
  static SofaResponseException refused(FhirCalls.Refusal r) {
    String operation = r.what();
    String diag = r.diagnostics();
    String at = r.at();
    int s = r.status();
    OperationOutcome oo = r.outcome();
    String location = r.location();
    switch (s) {
      case 400:
      case 422:
        return new SofaResponseException.InvalidContext(operation + " refused (HTTP " + s + ")" + at + ": "
            + diag + ". Fix the named parameter or resource and send again.", s, oo, location);
      case 401:
        return new SofaResponseException.Unauthenticated(operation + " refused (HTTP 401): " + diag
            + ". Sign the clinician in again to get a fresh token.", s, oo, location);
      case 403:
        return new SofaResponseException.Forbidden(operation + " refused (HTTP 403): " + diag
            + ". Request user/Context.write (or system/Context.write) at login.", s, oo, location);
      case 404:
        return new SofaResponseException.NotFound(operation + " refused (HTTP 404)" + at + ": " + diag,
            s, oo, location);
      case 413:
        return new SofaResponseException.TooLarge(operation + " refused (HTTP 413): " + diag
            + ". Upload fewer or smaller resources.", s, oo, location);
      default:
        if (s >= 500) {
          return new SofaResponseException.Unavailable(operation + " failed (HTTP " + s + "): " + diag
              + ". Retry later.", s, oo, location);
        }
        return new SofaResponseException(operation + " refused (HTTP " + s + "): " + diag, s, oo, location);
    }
  }

  private static void slot(Parameters in, String name, SetContextRequest.Slot s,
      Map<Resource, String> fullUrls) {
    if (s == null) {
      return;
    }
    String ref = s.resource != null ? fullUrls.get(s.resource) : s.reference;
    in.addParameter().setName(name).setValue(new Reference(ref));
  }

  private static String stripHistory(String ref) {
    int h = ref.indexOf("/_history");
    return h < 0 ? ref : ref.substring(0, h);
  }

  /** The local key of an uploaded resource (see {@link SetContextResult#idMap()}). */
  static String localKey(Resource r, int index) {
    if (r.getIdElement().hasIdPart()) {
      return r.fhirType() + "/" + r.getIdElement().getIdPart();
    }
    try {
      Object ids = r.getClass().getMethod("getIdentifier").invoke(r);
      if (ids instanceof List && !((List<?>) ids).isEmpty()) {
        org.hl7.fhir.r4.model.Identifier i = (org.hl7.fhir.r4.model.Identifier) ((List<?>) ids).get(0);
        return r.fhirType() + "?identifier=" + (i.hasSystem() ? i.getSystem() : "") + "|" + i.getValue();
      }
    } catch (ReflectiveOperationException | ClassCastException e) {
      // no identifier element on this type
    }
    return r.fhirType() + "#" + index;
  }

  @Override
  public void close() {
    if (ownsHttp) {
      http.close();
    }
  }

  @Override
  public String toString() {
    return "SofaClient{" + fhirBase + "}";
  }

  /** Builds a {@link SofaClient}; {@link #build()} checks the settings. */
  public static final class Builder {
    private URI fhirBase;
    private AccessTokenProvider tokens;
    private HaloHttp http;
    private FhirContext fhirContext;
    private Set<String> allowedTypes = SetContextDefaults.ALLOWED_RESOURCE_TYPES;

    private Builder() {}

    /** The SoFA's FHIR base URL. */
    public Builder fhirBase(URI v) {
      String s = Objects.requireNonNull(v, "fhirBase").toString();
      this.fhirBase = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
      return this;
    }

    /** The clinician's (or the PoC's system) tokens from the jurisdictional IdP. */
    public Builder tokens(AccessTokenProvider v) { this.tokens = Objects.requireNonNull(v); return this; }
    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    /**
     * The context for {@link SofaClient#fhir()}, {@code $clear-context}, and the answers the
     * client does not read itself; default HAPI's shared R4 context. The usual
     * {@code $set-context} request and answer do not use it: they are written and read without
     * HAPI, whose context loads every R4 class on first use.
     */
    public Builder fhirContext(FhirContext v) { this.fhirContext = Objects.requireNonNull(v); return this; }
    /**
     * The types the SoFA accepts, checked locally. Default
     * {@link SetContextDefaults#ALLOWED_RESOURCE_TYPES}, the SoFA's own default.
     */
    public Builder allowedTypes(Set<String> v) { this.allowedTypes = Set.copyOf(v); return this; }

    public SofaClient build() {
      if (fhirBase == null || tokens == null) {
        throw new IllegalStateException("fhirBase and tokens are required");
      }
      if (!fhirBase.isAbsolute()) {
        throw new IllegalStateException("fhirBase must be an absolute URL");
      }
      return new SofaClient(this);
    }
  }
}
