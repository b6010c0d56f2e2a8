package ca.halo.sofa;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 *
 * <p>Read with jackson-core's streaming parser into plain maps and lists: an ObjectMapper's first
 * use initialises databind (about 300 classes, 0.2 s of a fresh JVM).
 */
final class SetContextAnswers {
  private static final JsonFactory FACTORY = new JsonFactory();
  /** Any JSON value that is not a string: never a value of the usual answer. */
  private static final Object NOT_TEXT = new Object();

  private static final Set<String> ROOT = Set.of("resourceType", "parameter");
  private static final Set<String> LAUNCH = Set.of("name", "valueString");
  private static final Set<String> RESOURCES = Set.of("name", "resource");
  private static final Set<String> BUNDLE = Set.of("resourceType", "type", "entry");
  private static final Set<String> ENTRY = Set.of("response");
  private static final Set<String> RESPONSE = Set.of("status", "location", "etag", "lastModified");

  private SetContextAnswers() {}

  /** Root, parameter list, parameter, Bundle, entry list, entry, response: seven levels. */
  private static final int MAX_DEPTH = 7;
  /** The most members any object of the usual answer has. */
  private static final int MAX_MEMBERS = 4;

  /** What one read may build: the usual answer for its entries, and never more. */
  private static final class Budget {
    int values;
    int depth;

    Budget(int values) {
      this.values = values;
    }
  }

  /**
   * The answer in {@code json} when it has the usual shape with at most {@code entries} entries,
   * or null. The values read are bounded by that shape (the answer is the network's: a body of
   * small containers up to the HTTP cap would otherwise be a tree of a gigabyte).
   */
  static Parameters read(byte[] json, int entries) {
    Object root;
    Budget budget = new Budget(16 + 6 * entries);
    // decoded by Java, as every other answer is: Jackson's own decoder takes overlong forms
    // (C0 AF for "/") that Java replaces with U+FFFD
    try (JsonParser p = FACTORY.createParser(new String(json, StandardCharsets.UTF_8))) {
      if (p.nextToken() == null) {
        return null;
      }
      root = value(p, budget);
      if (p.nextToken() != null) {
        return null; // anything after the answer's object
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
    Map<String, Object> r = object(root, ROOT);
    if (r == null || !"Parameters".equals(text(r, "resourceType"))) {
      return null;
    }
    List<Object> params = r.get("parameter") instanceof List ? list(r.get("parameter")) : null;
    if (params == null || params.size() < 1 || params.size() > 2) {
      return null;
    }
    Map<String, Object> launch = object(params.get(0), LAUNCH);
    String launchId = launch == null ? null : text(launch, "valueString");
    if (launchId == null || !"launchID".equals(text(launch, "name"))) {
      return null;
    }
    Parameters out = new Parameters();
    out.addParameter().setName("launchID").setValue(new StringType(launchId));
    if (params.size() == 1) {
      return out;
    }
    Map<String, Object> rr = object(params.get(1), RESOURCES);
    Map<String, Object> b = rr == null ? null : object(rr.get("resource"), BUNDLE);
    if (b == null || !"resourcesResponse".equals(text(rr, "name"))
        || !"Bundle".equals(text(b, "resourceType"))
        || !"transaction-response".equals(text(b, "type"))) {
      return null;
    }
    Bundle bundle = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
    if (b.containsKey("entry")) {
      if (!(b.get("entry") instanceof List) || list(b.get("entry")).isEmpty()) {
        return null;
      }
      for (Object e : list(b.get("entry"))) {
        Map<String, Object> entry = object(e, ENTRY);
        Map<String, Object> response = entry == null ? null : object(entry.get("response"), RESPONSE);
        if (response == null || text(response, "status") == null
            || !textOrAbsent(response, "location") || !textOrAbsent(response, "etag")
            || !textOrAbsent(response, "lastModified")) {
          return null;
        }
        Bundle.BundleEntryResponseComponent c = bundle.addEntry().getResponse();
        c.setStatus(text(response, "status"));
        c.setLocation(text(response, "location"));
        c.setEtag(text(response, "etag"));
        String lastModified = text(response, "lastModified");
        if (lastModified != null) {
          try {
            c.setLastModifiedElement(new InstantType(lastModified));
          } catch (RuntimeException notAnInstant) {
            return null; // HAPI's parser says what is wrong with it
          }
        }
      }
    }
    out.addParameter().setName("resourcesResponse").setResource(bundle);
    return out;
  }

  /**
   * The value at the parser's current token: a map (a repeated member keeps its last value, as
   * a JSON tree does), a list, a string, or {@link #NOT_TEXT}.
   */
  private static Object value(JsonParser p, Budget b) throws IOException {
    if (--b.values < 0) {
      throw new IOException("more than the usual answer holds");
    }
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
      if (++b.depth > MAX_DEPTH) {
        throw new IOException("deeper than the usual answer");
      }
      Object container = t == JsonToken.START_OBJECT ? object(p, b) : array(p, b);
      b.depth--;
      return container;
    }
    if (t == JsonToken.VALUE_STRING) {
      return p.getText();
    }
    return NOT_TEXT;
  }

  private static Map<String, Object> object(JsonParser p, Budget b) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      m.put(name, value(p, b));
      if (m.size() > MAX_MEMBERS) {
        throw new IOException("more members than the usual answer has");
      }
    }
    return m;
  }

  private static List<Object> array(JsonParser p, Budget b) throws IOException {
    List<Object> l = new ArrayList<>();
    for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
      if (n == null) {
        throw new IOException("end of input in an array"); // Jackson throws first; never loop
      }
      l.add(value(p, b));
    }
    return l;
  }

  /** {@code v} as an object whose members are all among {@code allowed}, or null. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> object(Object v, Set<String> allowed) {
    if (!(v instanceof Map)) {
      return null;
    }
    Map<String, Object> m = (Map<String, Object>) v;
    return allowed.containsAll(m.keySet()) ? m : null;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object v) {
    return (List<Object>) v;
  }

  /** The member's text, or null when it is absent, not a string, or empty. */
  private static String text(Map<String, Object> m, String name) {
    Object v = m.get(name);
    return v instanceof String && !((String) v).isEmpty() ? (String) v : null;
  }

  private static boolean textOrAbsent(Map<String, Object> m, String name) {
    return !m.containsKey(name) || text(m, name) != null;
  }
}
