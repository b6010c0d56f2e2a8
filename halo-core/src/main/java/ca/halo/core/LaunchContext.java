package ca.halo.core;

import ca.halo.core.internal.CoreJson;
import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The SMART launch context a server returns beside the access token: {@code patient},
 * {@code encounter}, {@code fhirContext}, {@code need_patient_banner}, {@code smart_style_url},
 * {@code intent}, {@code tenant}, and the user's {@code fhirUser}.
 *
 * <pre>{@code
 * LaunchContext ctx = LaunchContext.builder().patient("123").encounter("456").build();
 * Map<String, Object> params = ctx.toTokenResponseParameters();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} names which fields are set, never their
 * values. Spec: SMART App Launch 2.1.0 section 3.1 (launch context arrives with the access
 * token); HALO CA:SoFA-1 (the parameters {@code $set-context} stores).
 */
public final class LaunchContext {
  private static final String WHAT = "launch context";
  private static final LaunchContext EMPTY = builder().build();

  private final String patient;
  private final String encounter;
  private final List<FhirContextItem> fhirContext;
  private final Boolean needPatientBanner;
  private final URI smartStyleUrl;
  private final String intent;
  private final String tenant;
  private final String fhirUser;

  private LaunchContext(Builder b) {
    this.patient = b.patient;
    this.encounter = b.encounter;
    this.fhirContext = List.copyOf(b.fhirContext);
    this.needPatientBanner = b.needPatientBanner;
    this.smartStyleUrl = b.smartStyleUrl;
    this.intent = b.intent;
    this.tenant = b.tenant;
    this.fhirUser = b.fhirUser;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static LaunchContext empty() {
    return EMPTY;
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.patient = patient;
    b.encounter = encounter;
    b.fhirContext.addAll(fhirContext);
    b.needPatientBanner = needPatientBanner;
    b.smartStyleUrl = smartStyleUrl;
    b.intent = intent;
    b.tenant = tenant;
    b.fhirUser = fhirUser;
    return b;
  }

  /** Reads the launch-context members of a token response (other members are ignored). */
  public static LaunchContext parse(String tokenResponseJson) {
    return CoreJson.launchContext(Json.parseObject(tokenResponseJson, WHAT));
  }

  /**
   * Reads the launch-context members from token-response parameters already decoded into plain
   * Java values (as Nimbus's {@code getCustomParameters()} gives them).
   */
  public static LaunchContext fromTokenResponseParameters(Map<String, ?> params) {
    return CoreJson.launchContext((ObjectNode) Json.fromJava(params));
  }

  /** The members to add to a token response, as plain Java values; absent fields are left out. */
  public Map<String, Object> toTokenResponseParameters() {
    return Json.toJavaMap(CoreJson.node(this));
  }

  /** The launch-context members as a JSON object. */
  public String toJson() {
    return Json.write(CoreJson.node(this));
  }

  /** The Patient id in context (a logical id, not a reference). */
  public Optional<String> patient() {
    return Optional.ofNullable(patient);
  }

  /** The Encounter id in context. */
  public Optional<String> encounter() {
    return Optional.ofNullable(encounter);
  }

  public List<FhirContextItem> fhirContext() {
    return fhirContext;
  }

  public Optional<Boolean> needPatientBanner() {
    return Optional.ofNullable(needPatientBanner);
  }

  public Optional<URI> smartStyleUrl() {
    return Optional.ofNullable(smartStyleUrl);
  }

  public Optional<String> intent() {
    return Optional.ofNullable(intent);
  }

  public Optional<String> tenant() {
    return Optional.ofNullable(tenant);
  }

  /** The user's FHIR resource URL or relative reference ({@code Practitioner/123}). */
  public Optional<String> fhirUser() {
    return Optional.ofNullable(fhirUser);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof LaunchContext)) {
      return false;
    }
    LaunchContext c = (LaunchContext) o;
    return Objects.equals(c.patient, patient) && Objects.equals(c.encounter, encounter)
        && c.fhirContext.equals(fhirContext)
        && Objects.equals(c.needPatientBanner, needPatientBanner)
        && Objects.equals(c.smartStyleUrl, smartStyleUrl) && Objects.equals(c.intent, intent)
        && Objects.equals(c.tenant, tenant) && Objects.equals(c.fhirUser, fhirUser);
  }

  @Override
  public int hashCode() {
    return Objects.hash(patient, encounter, fhirContext, needPatientBanner, smartStyleUrl, intent,
        tenant, fhirUser);
  }

  @Override
  public String toString() {
    return "LaunchContext{patient=" + (patient != null ? "set" : "none")
        + ", encounter=" + (encounter != null ? "set" : "none")
        + ", fhirContext=" + fhirContext.size() + " item(s)"
        + ", fhirUser=" + (fhirUser != null ? "set" : "none") + "}";
  }

  /** Builds a {@link LaunchContext}. */
  public static final class Builder {
    private String patient;
    private String encounter;
    private final List<FhirContextItem> fhirContext = new ArrayList<>();
    private Boolean needPatientBanner;
    private URI smartStyleUrl;
    private String intent;
    private String tenant;
    private String fhirUser;

    private Builder() {}

    public Builder patient(String id) { this.patient = id; return this; }
    public Builder encounter(String id) { this.encounter = id; return this; }
    public Builder needPatientBanner(boolean v) { this.needPatientBanner = v; return this; }
    public Builder smartStyleUrl(URI v) { this.smartStyleUrl = v; return this; }
    public Builder intent(String v) { this.intent = v; return this; }
    public Builder tenant(String v) { this.tenant = v; return this; }
    public Builder fhirUser(String v) { this.fhirUser = v; return this; }

    public Builder addFhirContext(FhirContextItem item) {
      this.fhirContext.add(Objects.requireNonNull(item, "item"));
      return this;
    }

    public Builder fhirContext(List<FhirContextItem> items) {
      this.fhirContext.clear();
      items.forEach(this::addFhirContext);
      return this;
    }

    public LaunchContext build() {
      return new LaunchContext(this);
    }
  }
}
