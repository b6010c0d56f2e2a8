package ca.halo.core.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * jqwik generators of hostile JSON: valid fixtures mutated at the tree level (drop, duplicate,
 * retype, wrap, add fields; values that are huge numbers, deeply nested, very long or oddly
 * encoded strings), then at the text level (truncation, insertions, trailing garbage) and at the
 * byte level (invalid UTF-8, flipped bytes), plus plain random bytes.
 *
 * <p>Deeply nested and huge values are spliced in as text, so a generated input may go beyond
 * what Jackson itself would write (nesting past its limits, numbers of thousands of digits).
 */
public final class JsonMutations {
  private static final ObjectMapper M = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final String PH = "@@HALO-PH-";

  private JsonMutations() {}

  // ------------------------------------------------------------------ hostile values

  /** Hostile JSON values, as JSON text. */
  public static Arbitrary<String> hostileValues() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.of(
            "null", "true", "false", "0", "-0", "1", "-1", "0.5", "-0.0", "1.0", "1e400",
            "-1e400", "1e-400", "9223372036854775807", "9223372036854775808",
            "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890",
            "1E+2147483647", "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"",
            "\"\\ud83d\\ude00\"", "\"\u202e\u0645\u0631\u062d\u0628\u0627\"", "[]", "{}",
            "[null]", "[\"\"]", "[[]]", "[1,\"a\",{},null,true]", "{\"\":null}",
            "\"Bearer\"", "\"bearer\"", "\"active\"", "\"history\"", "\"S256\"", "\"plain\"")),
        Tuple.of(4, Arbitraries.strings().all().ofMaxLength(40).map(JsonMutations::quote)),
        Tuple.of(3, Arbitraries.of(
            "http://", "https://[::1", "http://exa mple", "javascript:alert(1)", "%", "/relative",
            "urn:uuid:11111111-1111-1111-1111-111111111111", "Patient/", "/", "Patient//x",
            "Patient/1/_history/", "_history/1", "a/b/c/d", "patient/*.rs", "patient/",
            "user/*.*", "system/Patient.cruds?x", "launch patient/*.rs", "a\tb", "2026-13-45",
            "2026-01-01T00:00:00Z", "+1000000000-12-31T23:59:59Z", "3600", "-3600",
            "1e400", "ehr", "standalone", "public", "confidential", "launch-ehr",
            "ftp://localhost/x", "http://127.0.0.1:99999/t", "http://localhost:0/t",
            "file:///etc/passwd", "HTTPS://LOCALHOST/T", "http://user:pw@localhost/t")
            .map(JsonMutations::quote)),
        Tuple.of(3, Arbitraries.longs().map(l -> Long.toString(l))),
        Tuple.of(2, Arbitraries.doubles().map(d -> Double.isFinite(d) ? Double.toString(d) : "1")),
        Tuple.of(2, Arbitraries.integers().between(20, 3000).map(n -> "1" + "0".repeat(n))),
        Tuple.of(2, Arbitraries.of(1_000, 100_000, 1_500_000).map(n -> quote("a".repeat(n)))),
        Tuple.of(1, Arbitraries.strings().all().ofMinLength(1000).ofMaxLength(20_000)
            .map(JsonMutations::quote)),
        Tuple.of(3, deepNesting()),
        Tuple.of(1, Arbitraries.of(1_000, 100_000).map(n -> "[" + "0,".repeat(n) + "0]")),
        Tuple.of(1, Arbitraries.of(1_000, 50_000).map(JsonMutations::wideObject)));
  }

  /** Arrays or objects nested to depths around and far beyond parser limits. */
  public static Arbitrary<String> deepNesting() {
    Arbitrary<Integer> depth = Arbitraries.oneOf(
        Arbitraries.integers().between(2, 60),
        Arbitraries.of(255, 256, 499, 500, 501, 999, 1000, 1001, 2000, 10_000, 200_000));
    return Combinators.combine(depth, Arbitraries.of(0, 1, 2)).as((d, style) -> {
      switch (style) {
        case 0: return "[".repeat(d) + "]".repeat(d);
        case 1: return "{\"a\":".repeat(d) + "1" + "}".repeat(d);
        default: return "[{\"a\":".repeat(d) + "0" + "}]".repeat(d);
      }
    });
  }

  private static String wideObject(int n) {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < n; i++) {
      b.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":").append(i);
    }
    return b.append('}').toString();
  }

  public static String quote(String s) {
    try {
      return M.writeValueAsString(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  // ------------------------------------------------------------------ mutants

  private enum TreeKind { DROP, REPLACE, ADD, DUPLICATE_KEY, WRAP_IN_ARRAY, STRINGIFY, EMPTY }

  private static final class TreeOp {
    final TreeKind kind;
    final int where;
    final String raw;
    final String key;

    TreeOp(TreeKind kind, int where, String raw, String key) {
      this.kind = kind;
      this.where = where;
      this.raw = raw;
      this.key = key;
    }

    @Override
    public String toString() {
      return kind + "@" + where + (kind == TreeKind.REPLACE || kind == TreeKind.ADD
          || kind == TreeKind.DUPLICATE_KEY ? "=" + Abbrev.of(raw, 40) : "")
          + (kind == TreeKind.ADD ? "(" + Abbrev.of(key, 20) + ")" : "");
    }
  }

  private enum TextKind { TRUNCATE, INSERT, DELETE, REPLACE_CHAR, APPEND, PREPEND }

  private enum ByteKind { INVALID_UTF8, FLIP }

  private static final byte[][] INVALID_UTF8 = {
      {(byte) 0xC3, 0x28}, {(byte) 0xA0, (byte) 0xA1}, {(byte) 0xE2, 0x28, (byte) 0xA1},
      {(byte) 0xF0, 0x28, (byte) 0x8C, (byte) 0xBC}, {(byte) 0xFF}, {(byte) 0xFE},
      {(byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
      {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {0x00},
      {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}};

  private static Arbitrary<String> keys(List<String> knownKeys) {
    List<String> known = knownKeys.isEmpty() ? List.of("x") : knownKeys;
    return Arbitraries.oneOf(
        Arbitraries.of(known),
        Arbitraries.of("", " ", "__proto__", "resourceType", "id", "x-unknown", "\u0000"),
        Arbitraries.strings().all().ofMaxLength(12));
  }

  private static Arbitrary<TreeOp> treeOps(List<String> knownKeys) {
    return Combinators.combine(
            Arbitraries.of(TreeKind.class),
            Arbitraries.integers().between(0, 100_000),
            hostileValues(),
            keys(knownKeys))
        .as(TreeOp::new);
  }

  private static Arbitrary<String> textOps() {
    return Combinators.combine(
            Arbitraries.of(TextKind.class),
            Arbitraries.integers().between(0, 100_000),
            Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(8),
                Arbitraries.of(",", "}", "]", "{", "[", "\"", ":", "\\", "/*", "//", "\u0000",
                    "\ufeff", "\ud800", " {\"a\":1}", ", ", "NaN", "Infinity", "'")))
        .as((k, w, s) -> k + "@" + w + "=" + s);
  }

  private static Arbitrary<String> byteOps() {
    return Combinators.combine(
            Arbitraries.of(ByteKind.class),
            Arbitraries.integers().between(0, 100_000),
            Arbitraries.integers().between(0, 255))
        .as((k, w, v) -> k + "@" + w + "=" + v);
  }

  /**
   * Mutants of {@code seedJson}: most apply one to three tree mutations, some then a text or byte
   * mutation; a few are the seed unchanged (so the happy path is exercised too), a few are random
   * bytes or random text.
   *
   * @param knownKeys field names worth duplicating or adding (the fields the parser reads)
   */
  public static Arbitrary<Mutant> mutantsOf(String seedJson, List<String> knownKeys) {
    JsonNode seed;
    try {
      seed = M.readTree(seedJson);
    } catch (Exception e) {
      throw new IllegalArgumentException("seed is not JSON", e);
    }
    Arbitrary<Mutant> structured = Combinators.combine(
            treeOps(knownKeys).list().ofMinSize(0).ofMaxSize(3),
            textOps().list().ofMaxSize(1),
            byteOps().list().ofMaxSize(2))
        .as((tree, text, bytes) -> apply(seed, tree, text, bytes));
    return Arbitraries.frequencyOf(
        Tuple.of(2, Arbitraries.just(Mutant.ofText(seedJson, "seed"))),
        Tuple.of(82, structured),
        Tuple.of(8, Arbitraries.bytes().array(byte[].class).ofMaxSize(2000)
            .map(b -> new Mutant(b, "random bytes"))),
        Tuple.of(4, Arbitraries.strings().all().ofMaxLength(500)
            .map(s -> Mutant.ofText(s, "random text"))),
        Tuple.of(4, deepNesting().map(s -> Mutant.ofText(s, "deep nesting alone"))));
  }

  /** Mutants of any of several seeds. */
  public static Arbitrary<Mutant> mutantsOf(List<String> seeds, List<String> knownKeys) {
    List<Arbitrary<Mutant>> all = new ArrayList<>();
    for (String s : seeds) {
      all.add(mutantsOf(s, knownKeys));
    }
    return Arbitraries.oneOf(all);
  }

  private static Mutant apply(JsonNode seed, List<TreeOp> tree, List<String> text,
      List<String> bytes) {
    ArrayNode wrapper = F.arrayNode().add(seed.deepCopy());
    Map<String, String> raws = new LinkedHashMap<>();
    for (TreeOp op : tree) {
      applyTree(wrapper, op, raws);
    }
    String s = write(wrapper);
    s = s.substring(1, s.length() - 1);
    for (int round = 0; round < 10 && s.contains(PH); round++) {
      for (Map.Entry<String, String> e : raws.entrySet()) {
        s = s.replace(quote(e.getKey()), e.getValue());
      }
    }
    for (String t : text) {
      s = applyText(s, t);
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    for (String op : bytes) {
      b = applyBytes(b, op);
    }
    return new Mutant(b, "tree=" + tree + " text=" + abbrevOps(text) + " bytes=" + bytes);
  }

  private static String abbrevOps(List<String> ops) {
    List<String> out = new ArrayList<>();
    ops.forEach(o -> out.add(Abbrev.of(o, 40)));
    return out.toString();
  }

  private static final class Slot {
    final ContainerNode<?> parent;
    final String field;
    final int index;

    Slot(ContainerNode<?> parent, String field, int index) {
      this.parent = parent;
      this.field = field;
      this.index = index;
    }

    JsonNode get() {
      return field != null ? parent.get(field) : parent.get(index);
    }

    void set(JsonNode v) {
      if (field != null) {
        ((ObjectNode) parent).set(field, v);
      } else {
        ((ArrayNode) parent).set(index, v);
      }
    }

    void remove() {
      if (field != null) {
        ((ObjectNode) parent).remove(field);
      } else {
        ((ArrayNode) parent).remove(index);
      }
    }
  }

  private static List<Slot> slots(ArrayNode wrapper) {
    List<Slot> out = new ArrayList<>();
    collect(wrapper, out);
    return out;
  }

  private static void collect(JsonNode n, List<Slot> out) {
    if (out.size() > 5000) {
      return;
    }
    if (n instanceof ObjectNode) {
      Iterator<String> it = n.fieldNames();
      List<String> names = new ArrayList<>();
      it.forEachRemaining(names::add);
      for (String f : names) {
        out.add(new Slot((ObjectNode) n, f, -1));
        collect(n.get(f), out);
      }
    } else if (n instanceof ArrayNode) {
      for (int i = 0; i < n.size(); i++) {
        out.add(new Slot((ArrayNode) n, null, i));
        collect(n.get(i), out);
      }
    }
  }

  private static JsonNode placeholder(Map<String, String> raws, String raw) {
    String key = PH + raws.size() + "@@";
    raws.put(key, raw);
    return TextNode.valueOf(key);
  }

  private static void applyTree(ArrayNode wrapper, TreeOp op, Map<String, String> raws) {
    List<Slot> slots = slots(wrapper);
    Slot slot = slots.get(op.where % slots.size());
    boolean root = slot.parent == wrapper;
    JsonNode current = slot.get();
    switch (op.kind) {
      case DROP:
        if (root) {
          slot.set(placeholder(raws, ""));
        } else {
          slot.remove();
        }
        break;
      case REPLACE:
        slot.set(placeholder(raws, op.raw));
        break;
      case ADD:
        if (current instanceof ObjectNode) {
          ((ObjectNode) current).set(op.key, placeholder(raws, op.raw));
        } else if (current instanceof ArrayNode) {
          ((ArrayNode) current).insert(op.where % (current.size() + 1), placeholder(raws, op.raw));
        } else {
          slot.set(placeholder(raws, op.raw));
        }
        break;
      case DUPLICATE_KEY:
        if (slot.field == null) {
          // an array element: duplicate it in place instead
          ((ArrayNode) slot.parent).insert(slot.index, current.deepCopy());
          break;
        }
        ObjectNode parent = (ObjectNode) slot.parent;
        String text = write(parent);
        String dup = quote(slot.field) + ":" + op.raw;
        String raw = op.where % 2 == 0
            ? "{" + dup + (parent.isEmpty() ? "" : ",") + text.substring(1)
            : text.substring(0, text.length() - 1) + (parent.isEmpty() ? "" : ",") + dup + "}";
        replaceContainer(wrapper, parent, placeholder(raws, raw));
        break;
      case WRAP_IN_ARRAY:
        slot.set(F.arrayNode().add(current));
        break;
      case STRINGIFY:
        slot.set(TextNode.valueOf(current.isTextual() ? current.asText() : write(current)));
        break;
      case EMPTY:
        slot.set(current.isArray() ? F.arrayNode() : current.isObject() ? F.objectNode()
            : F.nullNode());
        break;
      default:
        throw new IllegalStateException();
    }
  }

  /** Replaces the container {@code target} (found by identity) with {@code replacement}. */
  private static void replaceContainer(ArrayNode wrapper, JsonNode target, JsonNode replacement) {
    for (Slot s : slots(wrapper)) {
      if (s.get() == target) {
        s.set(replacement);
        return;
      }
    }
  }

  private static String applyText(String s, String op) {
    int at = op.indexOf('@');
    int eq = op.indexOf('=', at);
    TextKind k = TextKind.valueOf(op.substring(0, at));
    int where = Integer.parseInt(op.substring(at + 1, eq));
    String arg = op.substring(eq + 1);
    int pos = s.isEmpty() ? 0 : where % (s.length() + 1);
    switch (k) {
      case TRUNCATE: return s.substring(0, pos);
      case INSERT: return s.substring(0, pos) + arg + s.substring(pos);
      case DELETE: return s.substring(0, pos) + s.substring(Math.min(s.length(), pos + 1 + where % 50));
      case REPLACE_CHAR:
        return pos >= s.length() ? s + arg : s.substring(0, pos) + arg + s.substring(pos + 1);
      case APPEND: return s + arg;
      case PREPEND: return arg + s;
      default: throw new IllegalStateException();
    }
  }

  private static byte[] applyBytes(byte[] b, String op) {
    int at = op.indexOf('@');
    int eq = op.indexOf('=', at);
    ByteKind k = ByteKind.valueOf(op.substring(0, at));
    int where = Integer.parseInt(op.substring(at + 1, eq));
    int value = Integer.parseInt(op.substring(eq + 1));
    int pos = where % (b.length + 1);
    ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + 8);
    out.write(b, 0, pos);
    if (k == ByteKind.INVALID_UTF8) {
      byte[] bad = INVALID_UTF8[value % INVALID_UTF8.length];
      out.write(bad, 0, bad.length);
      out.write(b, pos, b.length - pos);
    } else {
      out.write(value);
      if (pos < b.length) {
        out.write(b, pos + 1, b.length - pos - 1);
      }
    }
    return out.toByteArray();
  }

  private static String write(JsonNode n) {
    try {
      return M.writeValueAsString(n);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
