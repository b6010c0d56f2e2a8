package ca.halo.sofaserver.config.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every key of the SoFA's configuration file, and the environment variable that overrides each:
 * {@code HALO_} and the key path in upper snake case ({@code server.publicBaseUrl} is
 * {@code HALO_SERVER_PUBLIC_BASE_URL}).
 */
public final class Schema {
  /** What a key holds. */
  public enum Kind {
    /** One value (text, number, boolean, duration, size, URL, path). */
    SCALAR,
    /** A list of values; from the environment, comma-separated. */
    LIST,
    /** A list of mappings; from the environment, a YAML or JSON flow sequence. */
    OBJECT_LIST
  }

  private static final Map<String, Kind> KEYS = new LinkedHashMap<>();
  private static final Map<String, List<String>> ITEM_FIELDS = new LinkedHashMap<>();
  private static final Map<String, String> BY_ENV = new LinkedHashMap<>();

  static {
    scalars("server.", "publicBaseUrl", "host", "port", "maxThreads", "tls.keystore",
        "tls.keystorePassword", "shutdownGrace", "nodeName");
    KEYS.put("server.trustedProxies", Kind.LIST);
    scalars("store.", "type", "postgres.jdbcUrl", "postgres.user", "postgres.password",
        "postgres.poolSize", "postgres.connectionTimeout", "postgres.signingKeyEncryptionKey",
        "postgres.auditRetention");
    scalars("fhir.", "type", "remote.baseUrl", "remote.tokenUrl", "remote.clientId",
        "remote.clientSecret", "remote.scope", "remote.sessionMarker");
    scalars("identity.", "dev");
    KEYS.put("identity.users", Kind.OBJECT_LIST);
    ITEM_FIELDS.put("identity.users", List.of("username", "password", "fhirUser", "name"));
    scalars("identity.", "upstream.issuer", "upstream.clientId", "upstream.clientSecret",
        "upstream.scope", "tokenValidation.introspection.url",
        "tokenValidation.introspection.clientId", "tokenValidation.introspection.clientSecret",
        "tokenValidation.introspection.audience", "tokenValidation.jwks.url",
        "tokenValidation.jwks.issuer", "tokenValidation.jwks.audience");
    scalars("clients.", "file", "reload");
    scalars("catalog.", "file", "reload", "url", "refresh");
    scalars("subscriptions.", "enabled", "endpointPolicy");
    scalars("limits.", "maxBodyBytes", "maxEntries", "maxContexts", "maxContextsPerOwner",
        "maxContextBytesPerOwner", "maxSearchResults", "maxConnections", "maxWebSockets",
        "contextTimeToLive", "accessTokenLifetime");
    scalars("logging.", "format", "level");
    scalars("metrics.", "enabled");
    for (String key : KEYS.keySet()) {
      String env = envName(key);
      String before = BY_ENV.put(env, key);
      if (before != null) {
        throw new IllegalStateException(key + " and " + before + " share " + env);
      }
    }
  }

  private Schema() {}

  private static void scalars(String prefix, String... names) {
    for (String n : names) {
      KEYS.put(prefix + n, Kind.SCALAR);
    }
  }

  /** Every key, in the order of the documentation. */
  public static Map<String, Kind> keys() {
    return Collections.unmodifiableMap(KEYS);
  }

  /** The fields of each item of an {@link Kind#OBJECT_LIST} key. */
  public static List<String> itemFields(String key) {
    return ITEM_FIELDS.getOrDefault(key, List.of());
  }

  /** Environment variable name to key. */
  public static Map<String, String> byEnvironmentName() {
    return Collections.unmodifiableMap(BY_ENV);
  }

  /** Whether {@code path} is a section holding keys ({@code store}, {@code store.postgres}). */
  public static boolean isSection(String path) {
    String prefix = path + ".";
    return KEYS.keySet().stream().anyMatch(k -> k.startsWith(prefix));
  }

  /** The names directly under a section ({@code ""} for the top). */
  public static List<String> children(String section) {
    String prefix = section.isEmpty() ? "" : section + ".";
    return KEYS.keySet().stream().filter(k -> k.startsWith(prefix))
        .map(k -> k.substring(prefix.length()).split("\\.", 2)[0]).distinct().toList();
  }

  /** {@code server.publicBaseUrl} to {@code HALO_SERVER_PUBLIC_BASE_URL}. */
  public static String envName(String key) {
    StringBuilder b = new StringBuilder("HALO_");
    char prev = 0;
    for (char ch : key.toCharArray()) {
      if (ch == '.') {
        b.append('_');
      } else {
        if (Character.isUpperCase(ch) && Character.isLowerCase(prev)) {
          b.append('_');
        }
        b.append(Character.toUpperCase(ch));
      }
      prev = ch;
    }
    return b.toString().toUpperCase(Locale.ROOT);
  }
}
