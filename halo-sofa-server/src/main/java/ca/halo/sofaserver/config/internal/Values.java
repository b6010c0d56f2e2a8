package ca.halo.sofaserver.config.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The raw values of one configuration (the file, then the environment over it) and their typed
 * reading. Every problem is collected, never thrown, so that one run reports them all.
 */
public final class Values {
  private static final YAMLMapper YAML = yamlMapper();

  /** One value and where it was set. */
  private record Entry(JsonNode node, String source) {}

  private final String fileLabel;
  private final Path baseDirectory;
  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final List<String> problems = new ArrayList<>();

  private Values(String fileLabel, Path baseDirectory) {
    this.fileLabel = fileLabel;
    this.baseDirectory = baseDirectory;
  }

  /** A YAML mapper that refuses duplicate keys. */
  public static YAMLMapper yamlMapper() {
    YAMLMapper m = new YAMLMapper();
    m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    return m;
  }

  /**
   * Reads {@code file} and the {@code HALO_*} variables of {@code env}; unknown keys and
   * variables become problems.
   */
  public static Values read(Path file, Map<String, String> env) {
    Path dir = file.toAbsolutePath().getParent();
    Values v = new Values(file.toString(), dir);
    v.readFile(file);
    v.readEnvironment(env);
    return v;
  }

  private void readFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      problems.add(fileLabel + ": no such file");
      return;
    } catch (IOException e) {
      problems.add(fileLabel + ": cannot read the file (" + e.getClass().getSimpleName() + ")");
      return;
    }
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
      problems.add(fileLabel + ": not valid YAML: " + e.getOriginalMessage().lines().findFirst()
          .orElse("") + where);
      return;
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return;
    }
    if (!root.isObject()) {
      problems.add(fileLabel + ": must be a mapping of sections (server:, store:, ...)");
      return;
    }
    walk("", (ObjectNode) root);
  }

  private void walk(String section, ObjectNode node) {
    Iterator<Map.Entry<String, JsonNode>> it = node.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> f = it.next();
      String path = section.isEmpty() ? f.getKey() : section + "." + f.getKey();
      JsonNode value = f.getValue();
      Schema.Kind kind = Schema.keys().get(path);
      if (kind != null) {
        if (!value.isNull()) {
          entries.put(path, new Entry(value, fileLabel));
        }
      } else if (Schema.isSection(path)) {
        if (value.isObject()) {
          walk(path, (ObjectNode) value);
        } else if (!value.isNull()) {
          problems.add(fileLabel + ": " + path + ": must be a mapping (keys: "
              + String.join(", ", Schema.children(path)) + ")");
        }
      } else {
        problems.add(fileLabel + ": " + path + ": unknown key"
            + Suggestions.closest(f.getKey(), Schema.children(section))
                .map(s -> " (did you mean " + (section.isEmpty() ? "" : section + ".") + s + "?)")
                .orElse(""));
      }
    }
  }

  private void readEnvironment(Map<String, String> env) {
    Map<String, String> sorted = new TreeMap<>(env);
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      String name = e.getKey();
      if (!name.startsWith("HALO_")) {
        continue;
      }
      String key = Schema.byEnvironmentName().get(name);
      if (key == null) {
        problems.add(name + ": unknown environment variable"
            + Suggestions.closest(name, Schema.byEnvironmentName().keySet())
                .map(s -> " (did you mean " + s + "?)").orElse(""));
        continue;
      }
      String value = e.getValue() == null ? "" : e.getValue();
      String source = name;
      if (value.isBlank()) {
        entries.remove(key);
        continue;
      }
      switch (Schema.keys().get(key)) {
        case LIST -> {
          ArrayNode a = JsonNodeFactory.instance.arrayNode();
          for (String part : value.split(",")) {
            if (!part.isBlank()) {
              a.add(part.trim());
            }
          }
          entries.put(key, new Entry(a, source));
        }
        case OBJECT_LIST -> {
          try {
            entries.put(key, new Entry(YAML.readTree(value), source));
          } catch (JsonProcessingException ex) {
            problems.add(source + " (" + key + "): not a YAML or JSON list of mappings");
          }
        }
        default -> entries.put(key, new Entry(JsonNodeFactory.instance.textNode(value), source));
      }
    }
  }

  /** The problems found so far. */
  public List<String> problems() {
    return problems;
  }

  /** {@code sofa.yaml: key} or {@code HALO_KEY (key)}: where the key's value came from. */
  public String label(String key) {
    Entry e = entries.get(key);
    return e == null || e.source().equals(fileLabel) ? fileLabel + ": " + key
        : e.source() + " (" + key + ")";
  }

  /** Records a problem of {@code key}. */
  public void problem(String key, String message) {
    problems.add(label(key) + ": " + message);
  }

  /** Records a problem of a section or of several keys. */
  public void problemOf(String what, String message) {
    problems.add(fileLabel + ": " + what + ": " + message);
  }

  public boolean has(String key) {
    return entries.containsKey(key);
  }

  /** The first key set under {@code section}, if any. */
  public Optional<String> anySetUnder(String section) {
    return entries.keySet().stream().filter(k -> k.startsWith(section + ".")).findFirst();
  }

  /** Key to its source (file name or variable) for every key set. */
  public Map<String, String> sources() {
    Map<String, String> m = new LinkedHashMap<>();
    entries.forEach((k, e) -> m.put(k, label(k)));
    return m;
  }

  /** The file's directory: relative paths in the file are resolved against it. */
  public Path baseDirectory() {
    return baseDirectory;
  }

  // ---- typed reads: each returns the default (or empty) after recording a problem ----

  public Optional<String> string(String key) {
    Entry e = entries.get(key);
    if (e == null) {
      return Optional.empty();
    }
    if (!e.node().isValueNode()) {
      problem(key, "must be a single value, not a " + (e.node().isArray() ? "list" : "mapping"));
      return Optional.empty();
    }
    String s = e.node().asText().trim();
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  public String string(String key, String dflt) {
    return string(key).orElse(dflt);
  }

  public int integer(String key, int dflt, int min, int max) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return dflt;
    }
    try {
      int v = Integer.parseInt(s.get().replace("_", ""));
      if (v < min || v > max) {
        problem(key, v + " is out of range (" + min + " to " + max + ")");
        return dflt;
      }
      return v;
    } catch (NumberFormatException e) {
      problem(key, "'" + s.get() + "' is not a whole number");
      return dflt;
    }
  }

  public boolean bool(String key, boolean dflt) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return dflt;
    }
    switch (s.get().toLowerCase(Locale.ROOT)) {
      case "true": return true;
      case "false": return false;
      default:
        problem(key, "'" + s.get() + "' is not true or false");
        return dflt;
    }
  }

  public Duration duration(String key, Duration dflt, boolean allowZero) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return dflt;
    }
    try {
      Duration d = Units.duration(s.get());
      if (d.isNegative() || (!allowZero && d.isZero())) {
        problem(key, "must be " + (allowZero ? "zero or more" : "more than zero"));
        return dflt;
      }
      return d;
    } catch (IllegalArgumentException e) {
      problem(key, e.getMessage());
      return dflt;
    }
  }

  public long size(String key, long dflt) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return dflt;
    }
    try {
      long v = Units.size(s.get());
      if (v <= 0) {
        problem(key, "must be more than zero");
        return dflt;
      }
      return v;
    } catch (IllegalArgumentException e) {
      problem(key, e.getMessage());
      return dflt;
    }
  }

  /** One of {@code allowed} (case-insensitive), as written in {@code allowed}. */
  public String choice(String key, String dflt, List<String> allowed) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return dflt;
    }
    for (String a : allowed) {
      if (a.equalsIgnoreCase(s.get())) {
        return a;
      }
    }
    problem(key, "'" + s.get() + "' is not one of " + String.join(", ", allowed));
    return dflt;
  }

  /** An absolute http or https URL without query or fragment. */
  public Optional<URI> url(String key) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return Optional.empty();
    }
    URI u;
    try {
      u = new URI(s.get());
    } catch (URISyntaxException e) {
      problem(key, "'" + shown(s.get()) + "' is not a URL");
      return Optional.empty();
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!u.isAbsolute() || !(scheme.equals("http") || scheme.equals("https"))
        || u.getHost() == null) {
      problem(key, "'" + shown(s.get()) + "' must be an absolute http or https URL");
      return Optional.empty();
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
      problem(key, "'" + shown(u) + "' must carry no query, fragment or user info");
      return Optional.empty();
    }
    return Optional.of(u);
  }

  /** A URL as an error message may show it: no user info, query or fragment (they may hold secrets). */
  private static String shown(URI u) {
    String host = u.getHost() == null ? "" : u.getHost();
    return (u.getScheme() == null ? "" : u.getScheme() + "://") + host
        + (u.getPort() < 0 ? "" : ":" + u.getPort()) + (u.getRawPath() == null ? "" : u.getRawPath())
        + (u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null
            ? " (user info, query or fragment not shown)" : "");
  }

  /** Text that failed to be a URL, cut before anything that may be a secret. */
  private static String shown(String text) {
    String t = text.replaceAll("(?<=://)[^/@]*@", "***@").replaceAll("[?#].*$", "?...");
    return t.length() > 80 ? t.substring(0, 80) + "..." : t;
  }

  /** A path to a readable regular file, relative to the configuration file's directory. */
  public Optional<Path> file(String key) {
    Optional<String> s = string(key);
    if (s.isEmpty()) {
      return Optional.empty();
    }
    Path p;
    try {
      p = baseDirectory.resolve(s.get()).normalize();
    } catch (java.nio.file.InvalidPathException e) {
      problem(key, "'" + s.get() + "' is not a valid path");
      return Optional.empty();
    }
    if (!Files.exists(p)) {
      problem(key, "file " + p + " does not exist");
      return Optional.empty();
    }
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      problem(key, p + " is not a readable file");
      return Optional.empty();
    }
    return Optional.of(p);
  }

  /** A list of values. */
  public List<String> list(String key) {
    Entry e = entries.get(key);
    if (e == null) {
      return List.of();
    }
    if (!e.node().isArray()) {
      problem(key, "must be a list");
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (JsonNode n : e.node()) {
      if (!n.isValueNode() || n.isNull()) {
        problem(key, "every item must be a single value");
        return List.of();
      }
      out.add(n.asText().trim());
    }
    return out;
  }

  /** A list of mappings whose fields are those of {@link Schema#itemFields}. */
  public List<Map<String, String>> objects(String key) {
    Entry e = entries.get(key);
    if (e == null) {
      return List.of();
    }
    if (!e.node().isArray()) {
      problem(key, "must be a list of mappings");
      return List.of();
    }
    List<String> fields = Schema.itemFields(key);
    List<Map<String, String>> out = new ArrayList<>();
    int i = 0;
    for (JsonNode n : e.node()) {
      i++;
      if (!n.isObject()) {
        problem(key, "item " + i + " must be a mapping (" + String.join(", ", fields) + ")");
        continue;
      }
      Map<String, String> m = new LinkedHashMap<>();
      Iterator<Map.Entry<String, JsonNode>> it = n.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> f = it.next();
        if (!fields.contains(f.getKey())) {
          problem(key, "item " + i + ": unknown key " + f.getKey()
              + Suggestions.closest(f.getKey(), fields).map(s -> " (did you mean " + s + "?)")
                  .orElse(""));
        } else if (!f.getValue().isNull()) {
          if (!f.getValue().isValueNode()) {
            problem(key, "item " + i + ": " + f.getKey() + " must be a single value");
          } else {
            m.put(f.getKey(), f.getValue().asText());
          }
        }
      }
      out.add(m);
    }
    return out;
  }
}
