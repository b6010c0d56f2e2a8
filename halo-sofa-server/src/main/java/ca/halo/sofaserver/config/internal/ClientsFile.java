package ca.halo.sofaserver.config.internal;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.RegisteredClient;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The registered EMR and point-of-care clients: a JSON or YAML list (or {@code {clients: [...]}})
 * of entries with {@code clientId}, {@code name}, {@code type} ({@code public} or
 * {@code confidential}), {@code secret}, {@code redirectUris}, {@code scopes} (a list, or one
 * space-separated string) and {@code launchUrl}. Unknown fields are refused, like unknown keys of
 * the configuration.
 */
public final class ClientsFile {
  private static final List<String> FIELDS = List.of("clientId", "name", "type", "secret",
      "redirectUris", "scopes", "launchUrl");

  private ClientsFile() {}

  /**
   * Reads and checks the file.
   *
   * @throws IllegalArgumentException naming the entry and field at fault
   */
  public static List<RegisteredClient> read(Path file) {
    try {
      return parse(TextFiles.read(file));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + " ("
          + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * Parses and checks the text of a clients file.
   *
   * @throws IllegalArgumentException naming the entry and field at fault
   */
  public static List<RegisteredClient> parse(String text) {
    JsonNode root;
    try {
      root = Values.yamlMapper().readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON or YAML: "
          + e.getOriginalMessage().lines().findFirst().orElse("")
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
    }
    if (root != null && root.isObject() && root.size() == 1 && root.has("clients")) {
      root = root.get("clients");
    }
    if (root == null || root.isNull() || root.isMissingNode()) {
      // an empty file is more often one caught half-written than a wish for no client: an
      // empty list is written [] on purpose
      throw new IllegalArgumentException("holds no list of clients (write [] for none)");
    }
    if (!root.isArray()) {
      throw new IllegalArgumentException("must be a list of clients");
    }
    List<RegisteredClient> out = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int i = 0;
    for (JsonNode n : root) {
      i++;
      String where = "client " + i;
      if (!n.isObject()) {
        throw new IllegalArgumentException(where + ": must be a mapping");
      }
      Iterator<String> names = n.fieldNames();
      while (names.hasNext()) {
        String f = names.next();
        if (!FIELDS.contains(f)) {
          throw new IllegalArgumentException(where + ": unknown field " + f
              + Suggestions.closest(f, FIELDS).map(s -> " (did you mean " + s + "?)").orElse(""));
        }
      }
      String clientId = text(n, "clientId", where);
      if (clientId == null) {
        throw new IllegalArgumentException(where + ": clientId is required");
      }
      where = "client " + i + " (" + clientId + ")";
      if (!ids.add(clientId)) {
        throw new IllegalArgumentException(where + ": clientId appears twice");
      }
      RegisteredClient.Builder b = RegisteredClient.builder(clientId);
      String name = text(n, "name", where);
      if (name != null) {
        b.name(name);
      }
      String type = text(n, "type", where);
      String secret = text(n, "secret", where);
      if (type == null) {
        type = secret == null ? "public" : "confidential";
      }
      switch (type.toLowerCase(Locale.ROOT)) {
        case "public" -> {
          if (secret != null) {
            throw new IllegalArgumentException(where + ": a public client has no secret");
          }
          b.type(RegisteredClient.Type.PUBLIC);
        }
        case "confidential" -> b.type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret(secret);
        default -> throw new IllegalArgumentException(where + ": type '" + type
            + "' is not public or confidential");
      }
      for (String u : texts(n, "redirectUris", where)) {
        b.redirectUri(uri(u, where + ": redirectUris"));
      }
      try {
        b.allowedScopes(SmartScopes.parse(String.join(" ", texts(n, "scopes", where))));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(where + ": scopes: " + e.getMessage());
      }
      String launch = text(n, "launchUrl", where);
      if (launch != null) {
        b.launchUrl(uri(launch, where + ": launchUrl"));
      }
      try {
        out.add(b.build());
      } catch (IllegalStateException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }
    return List.copyOf(out);
  }

  private static String text(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isValueNode()) {
      throw new IllegalArgumentException(where + ": " + field + " must be a single value");
    }
    String s = v.asText().trim();
    return s.isEmpty() ? null : s;
  }

  private static List<String> texts(JsonNode n, String field, String where) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return List.of();
    }
    if (v.isValueNode()) {
      return List.of(v.asText().trim().split("\\s+"));
    }
    List<String> out = new ArrayList<>();
    for (JsonNode x : v) {
      if (!x.isValueNode()) {
        throw new IllegalArgumentException(where + ": " + field + " must be a list of values");
      }
      out.add(x.asText().trim());
    }
    return out;
  }

  private static URI uri(String s, String where) {
    try {
      URI u = new URI(s);
      if (!u.isAbsolute()) {
        throw new IllegalArgumentException(where + ": '" + s + "' must be an absolute URL");
      }
      return u;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(where + ": '" + s + "' is not a URL");
    }
  }

  /** For messages: the fields a client entry may have. */
  public static List<String> fields() {
    return FIELDS;
  }
}
