package ca.halo.core.internal;

import ca.halo.core.HaloParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** Jackson helpers shared by the wire types. Not public API. */
public final class Json {
  /** Configured once, never changed afterwards: safe to share. */
  public static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /**
   * Whether {@code s} holds a surrogate that is not half of a pair: no character, so not
   * something a JSON text can carry as UTF-8 (HAPI's writer turns one into {@code ?}, Jackson
   * into a {@code \\uD800} escape).
   */
  public static boolean hasUnpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  public static ObjectNode parseObject(String json, String what) {
    if (json == null || json.isBlank()) {
      throw new HaloParseException(what + ": empty body, expected a JSON object");
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new HaloParseException(
          what + ": malformed JSON at line " + lineOf(e) + ": " + e.getOriginalMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new HaloParseException(what + ": expected a JSON object");
    }
    return (ObjectNode) node;
  }

  private static int lineOf(JsonProcessingException e) {
    return e.getLocation() == null ? 0 : e.getLocation().getLineNr();
  }

  public static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize JSON", e);
    }
  }

  public static String requiredString(ObjectNode o, String field, String what) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      throw new HaloParseException(what + ": required field '" + field + "' is missing");
    }
    if (!n.isTextual() || n.asText().isBlank()) {
      throw new HaloParseException(what + ": field '" + field + "' must be a non-empty string");
    }
    return n.asText();
  }

  public static String optionalString(ObjectNode o, String field, String what) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw new HaloParseException(what + ": field '" + field + "' must be a string");
    }
    return n.asText();
  }

  public static Boolean optionalBoolean(ObjectNode o, String field, String what) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isBoolean()) {
      throw new HaloParseException(what + ": field '" + field + "' must be a boolean");
    }
    return n.booleanValue();
  }

  /** A string array; missing means empty. */
  public static List<String> stringList(ObjectNode o, String field, String what) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new HaloParseException(what + ": field '" + field + "' must be an array of strings");
    }
    List<String> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw new HaloParseException(what + ": field '" + field + "' must hold only strings");
      }
      out.add(e.asText());
    }
    return List.copyOf(out);
  }

  public static void putIfPresent(ObjectNode o, String field, String value) {
    if (value != null) {
      o.put(field, value);
    }
  }

  public static void putList(ObjectNode o, String field, Collection<String> values) {
    if (values != null && !values.isEmpty()) {
      ArrayNode a = o.putArray(field);
      values.forEach(a::add);
    }
  }

  /** Converts a plain Java value (Map, List, String, Number, Boolean) into a JSON node. */
  public static JsonNode fromJava(Object value) {
    return MAPPER.valueToTree(value);
  }

  /** Converts a JSON node into plain Java values (Map, List, String, Number, Boolean). */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> toJavaMap(ObjectNode node) {
    return MAPPER.convertValue(node, Map.class);
  }
}
