package ca.halo.sofa;

import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;

/**
 * Reads the usual {@code $set-context} answer (a launchID, then a transaction-response whose
 * entries hold only status, location, etag and lastModified) without HAPI's parser, whose
 * context must first load every R4 class: on an EMR's first launch that was most of the time
 * from {@code java} to the answer. Any other shape, down to one more member anywhere, is not
 * read here ({@code null}) and goes to HAPI's parser as before.
 */
final class SetContextAnswers {
  private static final Set<String> ROOT = Set.of("resourceType", "parameter");
  private static final Set<String> LAUNCH = Set.of("name", "valueString");
  private static final Set<String> RESOURCES = Set.of("name", "resource");
  private static final Set<String> BUNDLE = Set.of("resourceType", "type", "entry");
  private static final Set<String> ENTRY = Set.of("response");
  private static final Set<String> RESPONSE = Set.of("status", "location", "etag", "lastModified");

  /** Anything after the answer's object (which readTree ignores by default) is not the usual. */
  private static final ObjectReader STRICT =
      Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SetContextAnswers() {}

  /** The answer in {@code json} when it has the usual shape, or null. */
  static Parameters read(byte[] json) {
    JsonNode root;
    try {
      // decoded by Java, as every other answer is: Jackson's own decoder takes overlong forms
      // (C0 AF for "/") that Java replaces with U+FFFD
      root = STRICT.readTree(new String(json, StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      return null;
    }
    if (!only(root, ROOT) || !"Parameters".equals(text(root, "resourceType"))) {
      return null;
    }
    JsonNode params = root.get("parameter");
    if (params == null || !params.isArray() || params.size() < 1 || params.size() > 2) {
      return null;
    }
    JsonNode launch = params.get(0);
    String launchId = text(launch, "valueString");
    if (!only(launch, LAUNCH) || !"launchID".equals(text(launch, "name")) || launchId == null) {
      return null;
    }
    Parameters p = new Parameters();
    p.addParameter().setName("launchID").setValue(new StringType(launchId));
    if (params.size() == 1) {
      return p;
    }
    JsonNode rr = params.get(1);
    JsonNode b = rr.get("resource");
    if (!only(rr, RESOURCES) || !"resourcesResponse".equals(text(rr, "name"))
        || !only(b, BUNDLE) || !"Bundle".equals(text(b, "resourceType"))
        || !"transaction-response".equals(text(b, "type"))) {
      return null;
    }
    Bundle bundle = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
    JsonNode entries = b.get("entry");
    if (entries != null) {
      if (!entries.isArray() || entries.isEmpty()) {
        return null;
      }
      for (JsonNode e : entries) {
        JsonNode r = e.get("response");
        if (!only(e, ENTRY) || !only(r, RESPONSE) || text(r, "status") == null
            || !textOrAbsent(r, "location") || !textOrAbsent(r, "etag")
            || !textOrAbsent(r, "lastModified")) {
          return null;
        }
        Bundle.BundleEntryResponseComponent c = bundle.addEntry().getResponse();
        c.setStatus(text(r, "status"));
        c.setLocation(text(r, "location"));
        c.setEtag(text(r, "etag"));
        String lastModified = text(r, "lastModified");
        if (lastModified != null) {
          try {
            c.setLastModifiedElement(new InstantType(lastModified));
          } catch (RuntimeException notAnInstant) {
            return null; // HAPI's parser says what is wrong with it
          }
        }
      }
    }
    p.addParameter().setName("resourcesResponse").setResource(bundle);
    return p;
  }

  /** An object whose members are all among {@code allowed}. */
  private static boolean only(JsonNode n, Set<String> allowed) {
    if (n == null || !n.isObject()) {
      return false;
    }
    for (Iterator<String> names = n.fieldNames(); names.hasNext(); ) {
      if (!allowed.contains(names.next())) {
        return false;
      }
    }
    return true;
  }

  /** The member's text, or null when it is absent, not a string, or empty. */
  private static String text(JsonNode n, String name) {
    JsonNode v = n.get(name);
    return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
  }

  private static boolean textOrAbsent(JsonNode n, String name) {
    return !n.has(name) || text(n, name) != null;
  }
}
