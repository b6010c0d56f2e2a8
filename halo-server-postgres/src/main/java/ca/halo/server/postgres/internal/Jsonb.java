package ca.halo.server.postgres.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * JSON to and from {@code jsonb} columns. PostgreSQL's {@code jsonb} refuses the character
 * U+0000, which a caller may well put in a {@code state} or a launch parameter: such a string is
 * kept as {@code "\uE000" + base64url(UTF-8)} and restored on reading (as is any string that
 * itself starts with U+E000, so the encoding is unambiguous). Everything else is unchanged.
 */
public final class Jsonb {
  /** One mapper for the module: thread-safe once configured. */
  public static final ObjectMapper MAPPER = new ObjectMapper();
  private static final char MARK = '\uE000';

  private Jsonb() {}

  /** {@code node} as text for a {@code jsonb} parameter. */
  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(needsEscape(node) ? escape(node.deepCopy()) : node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  /** JSON text (from another library's serializer) made safe for a {@code jsonb} parameter. */
  public static String write(String json) {
    if (json.indexOf("\\u") < 0 && json.indexOf(MARK) < 0) {
      return json; // the common case: no escaped character, no tree walk
    }
    return write(read(json, false));
  }

  /** A {@code jsonb} column's text as a tree, with escaped strings restored. */
  public static JsonNode read(String jsonb) {
    return read(jsonb, true);
  }

  /** A {@code jsonb} column's text as plain JSON text for another library's parser. */
  public static String readText(String jsonb) {
    if (jsonb.indexOf(MARK) < 0) {
      return jsonb;
    }
    try {
      return MAPPER.writeValueAsString(read(jsonb));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  private static JsonNode read(String json, boolean unescape) {
    try {
      JsonNode n = MAPPER.readTree(json);
      return unescape && json.indexOf(MARK) >= 0 ? unescape(n) : n;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored JSON does not parse", e);
    }
  }

  private static boolean needsEscape(JsonNode n) {
    if (n.isTextual()) {
      String s = n.textValue();
      return s.indexOf('\u0000') >= 0 || (!s.isEmpty() && s.charAt(0) == MARK);
    }
    for (JsonNode c : n) {
      if (needsEscape(c)) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode escape(JsonNode n) {
    return map(n, s -> s.indexOf('\u0000') >= 0 || (!s.isEmpty() && s.charAt(0) == MARK)
        ? MARK + Base64.getUrlEncoder().withoutPadding()
            .encodeToString(s.getBytes(StandardCharsets.UTF_8))
        : s);
  }

  private static JsonNode unescape(JsonNode n) {
    return map(n, s -> !s.isEmpty() && s.charAt(0) == MARK
        ? new String(Base64.getUrlDecoder().decode(s.substring(1)), StandardCharsets.UTF_8)
        : s);
  }

  private static JsonNode map(JsonNode n, java.util.function.UnaryOperator<String> f) {
    if (n.isTextual()) {
      return TextNode.valueOf(f.apply(n.textValue()));
    }
    if (n.isObject()) {
      ObjectNode o = (ObjectNode) n;
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>(o.properties());
      for (Map.Entry<String, JsonNode> e : fields) {
        o.set(e.getKey(), map(e.getValue(), f));
      }
      return o;
    }
    if (n.isArray()) {
      ArrayNode a = (ArrayNode) n;
      for (int i = 0; i < a.size(); i++) {
        a.set(i, map(a.get(i), f));
      }
      return a;
    }
    return n;
  }
}
