package ca.halo.core.catalog;

import ca.halo.core.HaloParseException;
import ca.halo.core.SmartScope;
import ca.halo.core.SmartScopes;
import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One app in a jurisdiction's App Catalog (HALO CA:AC-1): what it is, who publishes it, how it
 * launches, and the scopes and context it needs.
 *
 * <pre>{@code
 * AppListing app = AppListing.parse(json);
 * if (app.needsPatientContext()) { ... }
 * URI launch = app.launchUrl().orElseThrow();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #parse(String)} requires {@code id}, {@code name} and
 * {@code status} (one of {@code active}, {@code suspended}, {@code retired}), checks the type of
 * every known field and names the field at fault; unknown fields are kept and written back by
 * {@link #toJson()}. Shared by the catalog client and the catalog supplier.
 *
 * <p>Spec: HALO CA:AC and our decisions on the endpoint and fields.
 */
public final class AppListing {
  private static final String WHAT = "app listing";
  /** The statuses our HALO reading defines. */
  public static final Set<String> STATUSES = Set.of("active", "suspended", "retired");
  private static final Set<String> URL_FIELDS = Set.of("launchUrl", "logoUrl",
      "privacyPolicyUrl", "termsOfServiceUrl");
  private static final Set<String> LIST_FIELDS = Set.of("redirectUris", "scopes", "launchTypes",
      "fhirVersions", "contextRequirements", "categories", "jurisdictions");

  private final ObjectNode raw;

  private AppListing(ObjectNode raw) {
    this.raw = raw;
  }

  /** Parses and checks one listing. */
  public static AppListing parse(String json) {
    return fromNode(Json.parseObject(json, WHAT));
  }

  /** Checks a listing already parsed as a JSON object (for a catalog file or page). */
  static AppListing fromNode(ObjectNode o) {
    String id = Json.requiredString(o, "id", WHAT);
    String where = WHAT + " '" + id + "'";
    Json.requiredString(o, "name", where);
    String status = Json.requiredString(o, "status", where);
    if (!STATUSES.contains(status)) {
      throw new HaloParseException(where + ": field 'status' must be one of " + STATUSES
          + ", got '" + status + "'");
    }
    for (String f : List.of("description", "version", "clientId", "lastUpdated")) {
      Json.optionalString(o, f, where);
    }
    String clientType = Json.optionalString(o, "clientType", where);
    if (clientType != null && !clientType.equals("public") && !clientType.equals("confidential")) {
      throw new HaloParseException(where + ": field 'clientType' must be public or confidential");
    }
    for (String f : URL_FIELDS) {
      String u = Json.optionalString(o, f, where);
      if (u != null) {
        absolute(u, where, f);
      }
    }
    for (String f : LIST_FIELDS) {
      Json.stringList(o, f, where);
    }
    for (String u : Json.stringList(o, "redirectUris", where)) {
      absolute(u, where, "redirectUris");
    }
    try {
      SmartScopes.parse(String.join(" ", Json.stringList(o, "scopes", where)));
    } catch (IllegalArgumentException e) {
      throw new HaloParseException(where + ": field 'scopes': " + e.getMessage(), e);
    }
    for (String t : Json.stringList(o, "launchTypes", where)) {
      if (!t.equals("ehr") && !t.equals("standalone")) {
        throw new HaloParseException(where + ": field 'launchTypes' holds '" + t
            + "'; use ehr or standalone");
      }
    }
    Json.optionalBoolean(o, "offlineAccess", where);
    JsonNode pub = o.get("publisher");
    if (pub != null && !pub.isNull()) {
      if (!pub.isObject()) {
        throw new HaloParseException(where + ": field 'publisher' must be an object");
      }
      Json.optionalString((ObjectNode) pub, "name", where + " publisher");
      Json.optionalString((ObjectNode) pub, "url", where + " publisher");
      Json.optionalString((ObjectNode) pub, "contact", where + " publisher");
    }
    String lu = Json.optionalString(o, "lastUpdated", where);
    if (lu != null) {
      try {
        Instant.parse(lu);
      } catch (java.time.format.DateTimeParseException e) {
        throw new HaloParseException(where + ": field 'lastUpdated' must be an ISO-8601 instant");
      }
    }
    return new AppListing(o.deepCopy());
  }

  private static void absolute(String u, String where, String field) {
    try {
      if (!new URI(u).isAbsolute()) {
        throw new HaloParseException(where + ": field '" + field + "' must be an absolute URL");
      }
    } catch (java.net.URISyntaxException e) {
      throw new HaloParseException(where + ": field '" + field + "' is not a valid URL");
    }
  }

  /** Parses a JSON array of listings, naming the index of a bad one. */
  public static List<AppListing> parseList(String jsonArray) {
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(jsonArray);
    } catch (Exception e) {
      throw new HaloParseException("app catalog: malformed JSON: " + e.getMessage(), e);
    }
    if (n != null && n.isObject() && n.has("apps")) {
      n = n.get("apps");
    }
    if (n == null || !n.isArray()) {
      throw new HaloParseException("app catalog: expected a JSON array of apps (or {\"apps\": [...]})");
    }
    List<AppListing> out = new ArrayList<>();
    int i = 0;
    for (JsonNode e : n) {
      if (!e.isObject()) {
        throw new HaloParseException("app catalog: entry [" + i + "] is not an object");
      }
      try {
        out.add(fromNode((ObjectNode) e));
      } catch (HaloParseException ex) {
        throw new HaloParseException("app catalog: entry [" + i + "]: " + ex.getMessage(), ex);
      }
      i++;
    }
    return out;
  }

  public String toJson() {
    return Json.write(raw);
  }

  /** The app's id in the catalog: the {@code appID} of {@code $set-context}. */
  public String id() { return raw.get("id").asText(); }
  public String name() { return raw.get("name").asText(); }
  public String status() { return raw.get("status").asText(); }
  public boolean isActive() { return status().equals("active"); }
  public Optional<String> description() { return text("description"); }
  public Optional<String> version() { return text("version"); }
  public Optional<String> clientId() { return text("clientId"); }
  /** {@code public} or {@code confidential}; public when absent. */
  public String clientType() { return text("clientType").orElse("public"); }
  public Optional<URI> launchUrl() { return text("launchUrl").map(URI::create); }
  public Optional<URI> logoUrl() { return text("logoUrl").map(URI::create); }
  public Optional<URI> privacyPolicyUrl() { return text("privacyPolicyUrl").map(URI::create); }
  public Optional<URI> termsOfServiceUrl() { return text("termsOfServiceUrl").map(URI::create); }
  public Optional<Instant> lastUpdated() { return text("lastUpdated").map(Instant::parse); }
  public boolean offlineAccess() { return raw.path("offlineAccess").asBoolean(false); }
  public List<URI> redirectUris() { return list("redirectUris").stream().map(URI::create).toList(); }
  public List<String> launchTypes() { return list("launchTypes"); }
  public List<String> fhirVersions() { return list("fhirVersions"); }
  public List<String> contextRequirements() { return list("contextRequirements"); }
  public List<String> categories() { return list("categories"); }
  public List<String> jurisdictions() { return list("jurisdictions"); }
  public Optional<String> publisherName() { return Optional.ofNullable(raw.path("publisher").path("name").textValue()); }
  public Optional<String> publisherUrl() { return Optional.ofNullable(raw.path("publisher").path("url").textValue()); }
  public Optional<String> publisherContact() { return Optional.ofNullable(raw.path("publisher").path("contact").textValue()); }

  /** The SMART scopes the app requests at launch. */
  public SmartScopes scopes() {
    return SmartScopes.parse(String.join(" ", list("scopes")));
  }

  /** Whether the app needs a patient in context (declared, or implied by patient/ scopes). */
  public boolean needsPatientContext() {
    return contextRequirements().contains("patient") || scopes().contains(SmartScope.LAUNCH_PATIENT)
        || scopes().asList().stream().anyMatch(s -> s.level().filter(l -> l == SmartScope.Level.PATIENT).isPresent());
  }

  public boolean needsEncounterContext() {
    return contextRequirements().contains("encounter") || scopes().contains(SmartScope.LAUNCH_ENCOUNTER);
  }

  public boolean supportsEhrLaunch() {
    return launchTypes().isEmpty() || launchTypes().contains("ehr");
  }

  /** A field this SDK does not model, as JSON text. */
  public Optional<String> extension(String name) {
    JsonNode n = raw.get(name);
    return n == null ? Optional.empty() : Optional.of(Json.write(n));
  }

  /** Everything as plain Java values (for filters on the supplier side). */
  public Map<String, Object> asMap() {
    return Json.toJavaMap(raw);
  }

  private Optional<String> text(String f) {
    JsonNode n = raw.get(f);
    return n == null || n.isNull() ? Optional.empty() : Optional.of(n.asText());
  }

  private List<String> list(String f) {
    return Json.stringList(raw, f, WHAT);
  }

  /** Case-insensitive text match on name, description and publisher name. */
  public boolean matchesText(String q) {
    String needle = q.toLowerCase(Locale.ROOT);
    return name().toLowerCase(Locale.ROOT).contains(needle)
        || description().map(d -> d.toLowerCase(Locale.ROOT).contains(needle)).orElse(false)
        || publisherName().map(d -> d.toLowerCase(Locale.ROOT).contains(needle)).orElse(false);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AppListing && ((AppListing) o).raw.equals(raw);
  }

  @Override
  public int hashCode() {
    return raw.hashCode();
  }

  @Override
  public String toString() {
    return "AppListing{" + id() + ", " + status() + "}";
  }

}
