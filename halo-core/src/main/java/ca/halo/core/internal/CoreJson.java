package ca.halo.core.internal;

import ca.halo.core.FhirContextItem;
import ca.halo.core.HaloParseException;
import ca.halo.core.LaunchContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;

/**
 * The one JSON doorway of the core values: reads them from, and writes them to, Jackson nodes,
 * so the other artifacts move them between JSON documents (a token response, a stored context)
 * without going through a string or a {@code Map}. The public {@code parse}/{@code toJson}
 * methods of the values go through here too.
 */
public final class CoreJson {
  private static final String CONTEXT = "launch context";
  private static final String ITEM = "fhirContext item";

  private CoreJson() {}

  /** The launch-context members of {@code o} (a token response, say); others are ignored. */
  public static LaunchContext launchContext(ObjectNode o) {
    LaunchContext.Builder b = LaunchContext.builder();
    b.patient(Json.optionalString(o, "patient", CONTEXT));
    b.encounter(Json.optionalString(o, "encounter", CONTEXT));
    JsonNode fc = o.get("fhirContext");
    if (fc != null && !fc.isNull()) {
      if (!fc.isArray()) {
        throw new HaloParseException(CONTEXT + ": 'fhirContext' must be an array");
      }
      for (JsonNode item : fc) {
        b.addFhirContext(fhirContextItem(item));
      }
    }
    Boolean banner = Json.optionalBoolean(o, "need_patient_banner", CONTEXT);
    if (banner != null) {
      b.needPatientBanner(banner);
    }
    String style = Json.optionalString(o, "smart_style_url", CONTEXT);
    if (style != null) {
      try {
        b.smartStyleUrl(URI.create(style));
      } catch (IllegalArgumentException e) {
        throw new HaloParseException(CONTEXT + ": 'smart_style_url' is not a valid URL", e);
      }
    }
    b.intent(Json.optionalString(o, "intent", CONTEXT));
    b.tenant(Json.optionalString(o, "tenant", CONTEXT));
    b.fhirUser(Json.optionalString(o, "fhirUser", CONTEXT));
    return b.build();
  }

  /** The members of {@code c} as a new JSON object; absent fields are left out. */
  public static ObjectNode node(LaunchContext c) {
    ObjectNode o = Json.object();
    c.patient().ifPresent(v -> o.put("patient", v));
    c.encounter().ifPresent(v -> o.put("encounter", v));
    if (!c.fhirContext().isEmpty()) {
      ArrayNode a = o.putArray("fhirContext");
      c.fhirContext().forEach(i -> a.add(node(i)));
    }
    c.needPatientBanner().ifPresent(v -> o.put("need_patient_banner", v));
    c.smartStyleUrl().ifPresent(v -> o.put("smart_style_url", v.toString()));
    c.intent().ifPresent(v -> o.put("intent", v));
    c.tenant().ifPresent(v -> o.put("tenant", v));
    c.fhirUser().ifPresent(v -> o.put("fhirUser", v));
    return o;
  }

  /** One {@code fhirContext} entry: exactly one of reference, canonical or identifier. */
  public static FhirContextItem fhirContextItem(JsonNode n) {
    if (!n.isObject()) {
      throw new HaloParseException(ITEM + ": each fhirContext entry must be a JSON object");
    }
    ObjectNode o = (ObjectNode) n;
    String ref = Json.optionalString(o, "reference", ITEM);
    String can = Json.optionalString(o, "canonical", ITEM);
    String sys = null;
    String val = null;
    JsonNode id = o.get("identifier");
    if (id != null && !id.isNull()) {
      if (!id.isObject()) {
        throw new HaloParseException(ITEM + ": 'identifier' must be an Identifier object");
      }
      sys = Json.optionalString((ObjectNode) id, "system", ITEM);
      val = Json.requiredString((ObjectNode) id, "value", ITEM + " identifier");
    }
    String type = Json.optionalString(o, "type", ITEM);
    String role = Json.optionalString(o, "role", ITEM);
    if ((ref != null ? 1 : 0) + (can != null ? 1 : 0) + (val != null ? 1 : 0) != 1) {
      throw new HaloParseException(ITEM + ": a fhirContext item holds exactly one of reference,"
          + " canonical or identifier");
    }
    try {
      FhirContextItem item = ref != null ? FhirContextItem.reference(ref).withType(type)
          : can != null ? FhirContextItem.canonical(can, type)
          : FhirContextItem.identifier(sys, val, type);
      return role == null ? item : item.withRole(role);
    } catch (IllegalArgumentException e) {
      throw new HaloParseException(ITEM + ": " + e.getMessage(), e);
    }
  }

  /** {@code i} as a new JSON object. */
  public static ObjectNode node(FhirContextItem i) {
    ObjectNode o = Json.object();
    i.reference().ifPresent(v -> o.put("reference", v));
    i.canonical().ifPresent(v -> o.put("canonical", v));
    i.identifier().ifPresent(v -> {
      ObjectNode id = o.putObject("identifier");
      Json.putIfPresent(id, "system", v.getSystem());
      id.put("value", v.getValue());
    });
    i.type().ifPresent(v -> o.put("type", v));
    i.role().ifPresent(v -> o.put("role", v));
    return o;
  }
}
