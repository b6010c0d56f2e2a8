package ca.halo.core;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One SMART scope: a resource scope ({@code patient/Observation.rs?category=laboratory},
 * {@code user/*.cruds}, {@code system/Patient.read}) or any other scope ({@code launch},
 * {@code openid}, {@code fhirUser}, ...).
 *
 * <pre>{@code
 * SmartScope s = SmartScope.parse("patient/Observation.rs");
 * s.permits(Interaction.READ, "Observation"); // true
 * }</pre>
 *
 * <p>{@code Context} is not a FHIR resource type: {@code (patient|user|system)/Context.<anything>}
 * (HALO's {@code user/Context.write}, {@code system/Context.admin}, ...) parses as a
 * {@linkplain #isContextScope() context scope}, which is not a resource scope, grants no FHIR
 * interaction, and is never covered by a wildcard such as {@code user/*.cruds}: a server grants it
 * only when the very same scope is allowed.
 *
 * <p>Immutable and thread-safe. SMART v1 permissions map to v2: {@code read} = {@code rs},
 * {@code write} = {@code cud}, {@code *} = {@code cruds}. {@link #toString()} is the wire form,
 * unchanged from what was parsed.
 *
 * <p>Spec: SMART App Launch 2.1.0 section 3 (Scopes and Launch Context).
 */
public final class SmartScope {
  /** The compartment a resource scope applies to. */
  public enum Level {
    PATIENT,
    USER,
    SYSTEM
  }

  public static final SmartScope LAUNCH = new SmartScope("launch");
  public static final SmartScope LAUNCH_PATIENT = new SmartScope("launch/patient");
  public static final SmartScope LAUNCH_ENCOUNTER = new SmartScope("launch/encounter");
  public static final SmartScope OPENID = new SmartScope("openid");
  public static final SmartScope FHIR_USER = new SmartScope("fhirUser");
  public static final SmartScope OFFLINE_ACCESS = new SmartScope("offline_access");
  public static final SmartScope ONLINE_ACCESS = new SmartScope("online_access");

  /** The pseudo-type of HALO's context-management scopes; not a FHIR resource type. */
  public static final String CONTEXT_TYPE = "Context";

  private static final Pattern CONTEXT = Pattern.compile("^(patient|user|system)/Context\\.(\\S+)$");
  private static final Pattern RESOURCE =
      Pattern.compile("^(patient|user|system)/([A-Za-z]+|\\*)\\.([a-z*]+)(\\?(.*))?$");

  private final String value;
  private final Level level;
  private final String resourceType;
  private final Set<Interaction> interactions;
  private final boolean v1;
  private final Map<String, List<String>> parameters;
  private final boolean context;

  private SmartScope(String value) {
    this(value, null);
  }

  private SmartScope(String value, Level contextLevel) {
    this.value = value;
    this.context = contextLevel != null;
    this.level = contextLevel;
    this.resourceType = null;
    this.interactions = Set.of();
    this.v1 = false;
    this.parameters = Map.of();
  }

  private SmartScope(
      String value,
      Level level,
      String resourceType,
      Set<Interaction> interactions,
      boolean v1,
      Map<String, List<String>> parameters) {
    this.value = value;
    this.context = false;
    this.level = level;
    this.resourceType = resourceType;
    this.interactions = Set.copyOf(interactions);
    this.v1 = v1;
    this.parameters = parameters;
  }

  /**
   * Parses one scope token.
   *
   * @throws IllegalArgumentException if the token is blank, contains white space, or looks like a
   *     resource scope with an invalid permission string (for example {@code patient/Obs.rx})
   */
  public static SmartScope parse(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isBlank() || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("a scope is one non-blank token without white space");
    }
    Matcher cm = CONTEXT.matcher(token);
    if (cm.matches()) {
      return new SmartScope(token, Level.valueOf(cm.group(1).toUpperCase(java.util.Locale.ROOT)));
    }
    Matcher m = RESOURCE.matcher(token);
    if (!m.matches()) {
      if (token.startsWith("patient/") || token.startsWith("user/") || token.startsWith("system/")) {
        throw new IllegalArgumentException(
            "malformed SMART resource scope '" + token
                + "': expected (patient|user|system)/(Type|*).(cruds|read|write|*)[?param=value]");
      }
      return new SmartScope(token);
    }
    Level level = Level.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT));
    String type = m.group(2);
    String perms = m.group(3);
    EnumSet<Interaction> set = EnumSet.noneOf(Interaction.class);
    boolean v1 = true;
    switch (perms) {
      case "read":
        set.add(Interaction.READ);
        set.add(Interaction.SEARCH);
        break;
      case "write":
        set.add(Interaction.CREATE);
        set.add(Interaction.UPDATE);
        set.add(Interaction.DELETE);
        break;
      case "*":
        set.addAll(EnumSet.allOf(Interaction.class));
        break;
      default:
        v1 = false;
        int last = -1;
        for (char c : perms.toCharArray()) {
          Interaction i = Interaction.ofLetter(c);
          int order = "cruds".indexOf(c);
          if (i == null || order <= last) {
            throw new IllegalArgumentException(
                "malformed SMART v2 permissions '" + perms + "' in scope '" + token
                    + "': use letters from 'cruds', in that order, each at most once");
          }
          last = order;
          set.add(i);
        }
    }
    Map<String, List<String>> params = new LinkedHashMap<>();
    if (m.group(5) != null) {
      if (v1) {
        throw new IllegalArgumentException(
            "scope '" + token + "': query parameters are only allowed on SMART v2 scopes");
      }
      for (String pair : m.group(5).split("&")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException(
              "scope '" + token + "': query parameter '" + pair + "' has no value");
        }
        String k = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        params.computeIfAbsent(k, x -> new java.util.ArrayList<>()).add(v);
      }
    }
    Map<String, List<String>> frozen = new LinkedHashMap<>();
    params.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
    return new SmartScope(
        token, level, type, set, v1, java.util.Collections.unmodifiableMap(frozen));
  }

  /** Builds a SMART v2 resource scope such as {@code patient/Observation.rs}. */
  public static SmartScope resource(Level level, String resourceType, Set<Interaction> allowed) {
    StringBuilder p = new StringBuilder();
    for (Interaction i : Interaction.values()) {
      if (allowed.contains(i)) {
        p.append(i.letter());
      }
    }
    return parse(level.name().toLowerCase(java.util.Locale.ROOT) + "/" + resourceType + "." + p);
  }

  /** Whether this scope names FHIR resources ({@code patient/Observation.rs}, {@code user/*.cruds}). */
  public boolean isResourceScope() {
    return level != null && !context;
  }

  /**
   * Whether this is a context-management scope ({@code user/Context.write},
   * {@code system/Context.admin}): not a resource scope; only an identical scope grants it.
   */
  public boolean isContextScope() {
    return context;
  }

  /** The level of a resource or context scope; empty for other scopes. */
  public Optional<Level> level() {
    return Optional.ofNullable(level);
  }

  /** The resource type, or {@code *}; empty for non-resource scopes. */
  public Optional<String> resourceType() {
    return Optional.ofNullable(resourceType);
  }

  public Set<Interaction> interactions() {
    return interactions;
  }

  /** Whether this is a SMART v1 scope ({@code .read}, {@code .write}, {@code .*}). */
  public boolean isV1() {
    return v1;
  }

  /** The SMART v2 query restriction ({@code ?category=laboratory}); empty when there is none. */
  public Map<String, List<String>> parameters() {
    return parameters;
  }

  /**
   * Whether this scope, on its own, grants {@code interaction} on {@code resourceType}; never for
   * {@code Context}, which is not a resource type. A scope
   * with query parameters grants only what matches them; since that cannot be judged from the
   * type alone, such a scope answers {@code false} here (fail closed). Servers that implement the
   * restriction read {@link #parameters()}.
   */
  public boolean permits(Interaction interaction, String resourceType) {
    if (!isResourceScope() || !parameters.isEmpty() || CONTEXT_TYPE.equals(resourceType)) {
      return false;
    }
    return interactions.contains(interaction)
        && ("*".equals(this.resourceType) || this.resourceType.equals(resourceType));
  }

  /** The wire form. */
  public String value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SmartScope && ((SmartScope) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return value;
  }
}
