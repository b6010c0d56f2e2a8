package ca.halo.sofa;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Resource;

/**
 * What a PoC sends with {@code $set-context}: the context (patient, encounter, fhirContext,
 * fhirUser, banner, intent, style, tenant, appID) and the resources to upload.
 *
 * <pre>{@code
 * SetContextRequest req = SetContextRequest.builder()
 *     .appId("growth-chart")
 *     .patient(patient)            // uploaded; its local id maps to the SoFA id
 *     .encounter(encounter)
 *     .fhirUser(practitioner)
 *     .addResource(observation)    // other resources; local references are rewritten
 *     .needPatientBanner(true)
 *     .build();
 * }</pre>
 *
 * <p>Each context slot takes either a resource to upload (a HAPI R4 resource with your local id)
 * or a reference to a resource already on the SoFA ({@code patientReference("Patient/123")}).
 * Immutable once built. It keeps the resource objects it is given (the client uploads copies);
 * {@link SetContextResult#sofaId(Resource)} finds them again by identity.
 *
 * <p>Spec: HALO CA:SoFA-1 set-context-input-parameters.
 */
public final class SetContextRequest {
  private final String appId;
  private final Slot patient;
  private final Slot encounter;
  private final Slot fhirUser;
  private final List<Slot> fhirContext;
  private final List<Resource> resources;
  private final Boolean needPatientBanner;
  private final String intent;
  private final URI smartStyleUrl;
  private final String tenant;

  /** A context slot: an uploaded resource or an existing SoFA reference. */
  static final class Slot {
    final Resource resource;
    final String reference;

    Slot(Resource resource, String reference) {
      this.resource = resource;
      this.reference = reference;
    }
  }

  private SetContextRequest(Builder b) {
    this.appId = b.appId;
    this.patient = b.patient;
    this.encounter = b.encounter;
    this.fhirUser = b.fhirUser;
    this.fhirContext = List.copyOf(b.fhirContext);
    this.resources = List.copyOf(b.resources);
    this.needPatientBanner = b.needPatientBanner;
    this.intent = b.intent;
    this.smartStyleUrl = b.smartStyleUrl;
    this.tenant = b.tenant;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Optional<String> appId() { return Optional.ofNullable(appId); }
  public Optional<Boolean> needPatientBanner() { return Optional.ofNullable(needPatientBanner); }
  public Optional<String> intent() { return Optional.ofNullable(intent); }
  public Optional<URI> smartStyleUrl() { return Optional.ofNullable(smartStyleUrl); }
  public Optional<String> tenant() { return Optional.ofNullable(tenant); }

  Slot patientSlot() { return patient; }
  Slot encounterSlot() { return encounter; }
  Slot fhirUserSlot() { return fhirUser; }
  List<Slot> fhirContextSlots() { return fhirContext; }
  List<Resource> extraResources() { return resources; }

  /** Every resource to upload, context slots first, in a stable order, without duplicates. */
  List<Resource> uploads() {
    List<Resource> out = new ArrayList<>();
    for (Slot s : new Slot[] {patient, encounter, fhirUser}) {
      if (s != null && s.resource != null && !out.contains(s.resource)) {
        out.add(s.resource);
      }
    }
    for (Slot s : fhirContext) {
      if (s.resource != null && !out.contains(s.resource)) {
        out.add(s.resource);
      }
    }
    for (Resource r : resources) {
      if (!out.contains(r)) {
        out.add(r);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "SetContextRequest{appId=" + appId + ", uploads=" + uploads().size() + "}";
  }

  /** Builds a {@link SetContextRequest}; {@link #build()} checks the slots' types. */
  public static final class Builder {
    private String appId;
    private Slot patient;
    private Slot encounter;
    private Slot fhirUser;
    private final List<Slot> fhirContext = new ArrayList<>();
    private final List<Resource> resources = new ArrayList<>();
    private Boolean needPatientBanner;
    private String intent;
    private URI smartStyleUrl;
    private String tenant;

    private Builder() {}

    public Builder appId(String v) { this.appId = v; return this; }
    public Builder patient(Resource patient) { this.patient = upload(patient); return this; }
    public Builder patientReference(String ref) { this.patient = existing(ref); return this; }
    public Builder encounter(Resource encounter) { this.encounter = upload(encounter); return this; }
    public Builder encounterReference(String ref) { this.encounter = existing(ref); return this; }
    /** The clinician: a Practitioner or PractitionerRole. */
    public Builder fhirUser(Resource user) { this.fhirUser = upload(user); return this; }
    public Builder fhirUserReference(String ref) { this.fhirUser = existing(ref); return this; }
    public Builder addFhirContext(Resource r) { this.fhirContext.add(upload(r)); return this; }
    public Builder addFhirContextReference(String ref) { this.fhirContext.add(existing(ref)); return this; }
    /** A further resource to upload (not itself in the launch context). */
    public Builder addResource(Resource r) { this.resources.add(Objects.requireNonNull(r)); return this; }
    public Builder needPatientBanner(boolean v) { this.needPatientBanner = v; return this; }
    public Builder intent(String v) { this.intent = v; return this; }
    public Builder smartStyleUrl(URI v) { this.smartStyleUrl = v; return this; }
    public Builder tenant(String v) { this.tenant = v; return this; }

    private static Slot upload(Resource r) {
      return new Slot(Objects.requireNonNull(r, "resource"), null);
    }

    private static Slot existing(String ref) {
      Objects.requireNonNull(ref, "reference");
      if (!ref.matches("[A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}")) {
        throw new IllegalArgumentException("'" + ref + "' is not a relative reference Type/id");
      }
      return new Slot(null, ref);
    }

    public SetContextRequest build() {
      check(patient, "patient", "Patient");
      check(encounter, "encounter", "Encounter");
      check(fhirUser, "fhirUser", "Practitioner", "PractitionerRole");
      if (smartStyleUrl != null && !smartStyleUrl.isAbsolute()) {
        throw new IllegalStateException("smartStyleUrl must be absolute");
      }
      return new SetContextRequest(this);
    }

    private static void check(Slot s, String name, String... types) {
      if (s == null) {
        return;
      }
      String type = s.resource != null ? s.resource.fhirType() : s.reference.split("/")[0];
      if (!List.of(types).contains(type)) {
        throw new IllegalStateException(name + " must be a " + String.join(" or ", types)
            + ", not a " + type);
      }
    }
  }
}
