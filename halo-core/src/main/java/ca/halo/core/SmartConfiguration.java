package ca.halo.core;

import ca.halo.core.internal.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The SMART configuration document served at {@code [fhir-base]/.well-known/smart-configuration}.
 *
 * <pre>{@code
 * SmartConfiguration config = SmartConfiguration.parse(json);
 * URI token = config.tokenEndpoint();
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #parse(String)} enforces the fields SMART App Launch 2.1.0
 * section 2.0.3 requires: {@code token_endpoint}, {@code grant_types_supported},
 * {@code capabilities}, {@code code_challenge_methods_supported} containing {@code S256} and not
 * {@code plain}; {@code authorization_endpoint} when {@code launch-ehr} or
 * {@code launch-standalone} is advertised; {@code issuer} and {@code jwks_uri} when
 * {@code sso-openid-connect} is. Unknown members are kept and written back by {@link #toJson()}.
 * The builder enforces the same rules in {@link Builder#build()}.
 *
 * <p>Spec: SMART App Launch 2.1.0 section 2.0.3; HALO CA:SoF-2.
 */
public final class SmartConfiguration {
  private static final String WHAT = "smart-configuration";
  private static final List<String> KNOWN =
      List.of(
          "issuer",
          "jwks_uri",
          "authorization_endpoint",
          "token_endpoint",
          "token_endpoint_auth_methods_supported",
          "grant_types_supported",
          "registration_endpoint",
          "scopes_supported",
          "response_types_supported",
          "management_endpoint",
          "introspection_endpoint",
          "revocation_endpoint",
          "capabilities",
          "code_challenge_methods_supported");

  private final URI issuer;
  private final URI jwksUri;
  private final URI authorizationEndpoint;
  private final URI tokenEndpoint;
  private final List<String> tokenEndpointAuthMethodsSupported;
  private final List<String> grantTypesSupported;
  private final URI registrationEndpoint;
  private final List<String> scopesSupported;
  private final List<String> responseTypesSupported;
  private final URI managementEndpoint;
  private final URI introspectionEndpoint;
  private final URI revocationEndpoint;
  private final Set<SmartCapability> capabilities;
  private final List<String> codeChallengeMethodsSupported;
  private final ObjectNode extensions;

  private SmartConfiguration(Builder b) {
    this.issuer = b.issuer;
    this.jwksUri = b.jwksUri;
    this.authorizationEndpoint = b.authorizationEndpoint;
    this.tokenEndpoint = b.tokenEndpoint;
    this.tokenEndpointAuthMethodsSupported = List.copyOf(b.tokenEndpointAuthMethodsSupported);
    this.grantTypesSupported = List.copyOf(b.grantTypesSupported);
    this.registrationEndpoint = b.registrationEndpoint;
    this.scopesSupported = List.copyOf(b.scopesSupported);
    this.responseTypesSupported = List.copyOf(b.responseTypesSupported);
    this.managementEndpoint = b.managementEndpoint;
    this.introspectionEndpoint = b.introspectionEndpoint;
    this.revocationEndpoint = b.revocationEndpoint;
    this.capabilities = Set.copyOf(b.capabilities);
    this.codeChallengeMethodsSupported = List.copyOf(b.codeChallengeMethodsSupported);
    this.extensions = b.extensions.deepCopy();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Parses and validates a smart-configuration document.
   *
   * @throws HaloParseException if the JSON is malformed or a required field is missing or wrong
   */
  public static SmartConfiguration parse(String json) {
    ObjectNode o = Json.parseObject(json, WHAT);
    Builder b = new Builder();
    b.issuer = uri(o, "issuer");
    b.jwksUri = uri(o, "jwks_uri");
    b.authorizationEndpoint = uri(o, "authorization_endpoint");
    b.tokenEndpoint = uri(o, "token_endpoint");
    b.tokenEndpointAuthMethodsSupported =
        Json.stringList(o, "token_endpoint_auth_methods_supported", WHAT);
    b.grantTypesSupported = Json.stringList(o, "grant_types_supported", WHAT);
    b.registrationEndpoint = uri(o, "registration_endpoint");
    b.scopesSupported = Json.stringList(o, "scopes_supported", WHAT);
    b.responseTypesSupported = Json.stringList(o, "response_types_supported", WHAT);
    b.managementEndpoint = uri(o, "management_endpoint");
    b.introspectionEndpoint = uri(o, "introspection_endpoint");
    b.revocationEndpoint = uri(o, "revocation_endpoint");
    if (!o.has("capabilities")) {
      throw new HaloParseException(WHAT + ": required field 'capabilities' is missing");
    }
    for (String c : Json.stringList(o, "capabilities", WHAT)) {
      if (c.isBlank()) {
        throw new HaloParseException(WHAT + ": field 'capabilities' holds a blank capability");
      }
      b.capabilities.add(SmartCapability.of(c));
    }
    b.codeChallengeMethodsSupported = Json.stringList(o, "code_challenge_methods_supported", WHAT);
    o.fields()
        .forEachRemaining(
            e -> {
              if (!KNOWN.contains(e.getKey())) {
                b.extensions.set(e.getKey(), e.getValue());
              }
            });
    try {
      return b.build();
    } catch (IllegalStateException e) {
      throw new HaloParseException(e.getMessage(), e);
    }
  }

  private static URI uri(ObjectNode o, String field) {
    String s = Json.optionalString(o, field, WHAT);
    if (s == null) {
      return null;
    }
    URI u;
    try {
      u = new URI(s);
    } catch (URISyntaxException e) {
      throw new HaloParseException(WHAT + ": field '" + field + "' is not a valid URL", e);
    }
    // java.net.URI takes "https://host:12x/token" with a registry authority and no host, and
    // any scheme: only an http(s) URL that the HTTP stack can call is an endpoint
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (!u.isAbsolute() || u.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))
        || okhttp3.HttpUrl.parse(s) == null) {
      throw new HaloParseException(WHAT + ": field '" + field + "' must be an absolute http(s)"
          + " URL");
    }
    return u;
  }

  /** Serializes the document, unknown members included. */
  public String toJson() {
    ObjectNode o = Json.object();
    put(o, "issuer", issuer);
    put(o, "jwks_uri", jwksUri);
    put(o, "authorization_endpoint", authorizationEndpoint);
    put(o, "token_endpoint", tokenEndpoint);
    Json.putList(o, "token_endpoint_auth_methods_supported", tokenEndpointAuthMethodsSupported);
    Json.putList(o, "grant_types_supported", grantTypesSupported);
    put(o, "registration_endpoint", registrationEndpoint);
    Json.putList(o, "scopes_supported", scopesSupported);
    Json.putList(o, "response_types_supported", responseTypesSupported);
    put(o, "management_endpoint", managementEndpoint);
    put(o, "introspection_endpoint", introspectionEndpoint);
    put(o, "revocation_endpoint", revocationEndpoint);
    com.fasterxml.jackson.databind.node.ArrayNode caps = o.putArray("capabilities");
    capabilities.stream().map(SmartCapability::value).sorted().forEach(caps::add);
    Json.putList(o, "code_challenge_methods_supported", codeChallengeMethodsSupported);
    o.setAll(extensions);
    return Json.write(o);
  }

  private static void put(ObjectNode o, String field, URI value) {
    if (value != null) {
      o.put(field, value.toString());
    }
  }

  public Optional<URI> issuer() {
    return Optional.ofNullable(issuer);
  }

  public Optional<URI> jwksUri() {
    return Optional.ofNullable(jwksUri);
  }

  public Optional<URI> authorizationEndpoint() {
    return Optional.ofNullable(authorizationEndpoint);
  }

  public URI tokenEndpoint() {
    return tokenEndpoint;
  }

  public List<String> tokenEndpointAuthMethodsSupported() {
    return tokenEndpointAuthMethodsSupported;
  }

  public List<String> grantTypesSupported() {
    return grantTypesSupported;
  }

  public Optional<URI> registrationEndpoint() {
    return Optional.ofNullable(registrationEndpoint);
  }

  public List<String> scopesSupported() {
    return scopesSupported;
  }

  public List<String> responseTypesSupported() {
    return responseTypesSupported;
  }

  public Optional<URI> managementEndpoint() {
    return Optional.ofNullable(managementEndpoint);
  }

  public Optional<URI> introspectionEndpoint() {
    return Optional.ofNullable(introspectionEndpoint);
  }

  public Optional<URI> revocationEndpoint() {
    return Optional.ofNullable(revocationEndpoint);
  }

  public Set<SmartCapability> capabilities() {
    return capabilities;
  }

  public boolean hasCapability(SmartCapability capability) {
    return capabilities.contains(capability);
  }

  public List<String> codeChallengeMethodsSupported() {
    return codeChallengeMethodsSupported;
  }

  /** Members this SDK does not model, as their JSON text, in document order. */
  public Map<String, String> extensions() {
    Map<String, String> out = new LinkedHashMap<>();
    extensions.fields().forEachRemaining(e -> out.put(e.getKey(), Json.write(e.getValue())));
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SmartConfiguration && ((SmartConfiguration) o).toJson().equals(toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }

  @Override
  public String toString() {
    return "SmartConfiguration{tokenEndpoint=" + tokenEndpoint + ", capabilities=" + capabilities
        + "}";
  }

  /** Builds a {@link SmartConfiguration}; {@link #build()} enforces the SMART 2.1 rules. */
  public static final class Builder {
    private URI issuer;
    private URI jwksUri;
    private URI authorizationEndpoint;
    private URI tokenEndpoint;
    private List<String> tokenEndpointAuthMethodsSupported = new ArrayList<>();
    private List<String> grantTypesSupported = new ArrayList<>();
    private URI registrationEndpoint;
    private List<String> scopesSupported = new ArrayList<>();
    private List<String> responseTypesSupported = new ArrayList<>();
    private URI managementEndpoint;
    private URI introspectionEndpoint;
    private URI revocationEndpoint;
    private final Set<SmartCapability> capabilities = new LinkedHashSet<>();
    private List<String> codeChallengeMethodsSupported = new ArrayList<>(List.of("S256"));
    private final ObjectNode extensions = Json.object();

    private Builder() {}

    public Builder issuer(URI v) { this.issuer = v; return this; }
    public Builder jwksUri(URI v) { this.jwksUri = v; return this; }
    public Builder authorizationEndpoint(URI v) { this.authorizationEndpoint = v; return this; }
    public Builder tokenEndpoint(URI v) { this.tokenEndpoint = v; return this; }
    public Builder registrationEndpoint(URI v) { this.registrationEndpoint = v; return this; }
    public Builder managementEndpoint(URI v) { this.managementEndpoint = v; return this; }
    public Builder introspectionEndpoint(URI v) { this.introspectionEndpoint = v; return this; }
    public Builder revocationEndpoint(URI v) { this.revocationEndpoint = v; return this; }

    public Builder tokenEndpointAuthMethodsSupported(Collection<String> v) {
      this.tokenEndpointAuthMethodsSupported = new ArrayList<>(v);
      return this;
    }

    public Builder grantTypesSupported(Collection<String> v) {
      this.grantTypesSupported = new ArrayList<>(v);
      return this;
    }

    public Builder scopesSupported(Collection<String> v) {
      this.scopesSupported = new ArrayList<>(v);
      return this;
    }

    public Builder responseTypesSupported(Collection<String> v) {
      this.responseTypesSupported = new ArrayList<>(v);
      return this;
    }

    public Builder capabilities(Collection<SmartCapability> v) {
      this.capabilities.clear();
      this.capabilities.addAll(v);
      return this;
    }

    public Builder addCapability(SmartCapability v) {
      this.capabilities.add(Objects.requireNonNull(v));
      return this;
    }

    /** Defaults to {@code ["S256"]}. */
    public Builder codeChallengeMethodsSupported(Collection<String> v) {
      this.codeChallengeMethodsSupported = new ArrayList<>(v);
      return this;
    }

    /** Adds a member this SDK does not model; {@code jsonValue} is JSON text. */
    public Builder extension(String name, String jsonValue) {
      if (KNOWN.contains(name)) {
        throw new IllegalArgumentException(name + " is a modelled member; use its setter");
      }
      try {
        JsonNode n = Json.MAPPER.readTree(jsonValue);
        this.extensions.set(name, n);
      } catch (Exception e) {
        throw new IllegalArgumentException("extension " + name + " is not valid JSON", e);
      }
      return this;
    }

    /** @throws IllegalStateException naming the broken SMART 2.1 rule */
    public SmartConfiguration build() {
      if (tokenEndpoint == null) {
        throw new IllegalStateException(WHAT + ": required field 'token_endpoint' is missing");
      }
      if (grantTypesSupported.isEmpty()) {
        throw new IllegalStateException(
            WHAT + ": required field 'grant_types_supported' is missing or empty");
      }
      if (codeChallengeMethodsSupported.isEmpty()) {
        throw new IllegalStateException(
            WHAT + ": required field 'code_challenge_methods_supported' is missing or empty");
      }
      if (!codeChallengeMethodsSupported.contains("S256")) {
        throw new IllegalStateException(
            WHAT + ": 'code_challenge_methods_supported' must contain S256 (SMART 2.1 requires"
                + " PKCE S256)");
      }
      if (codeChallengeMethodsSupported.contains("plain")) {
        throw new IllegalStateException(
            WHAT + ": 'code_challenge_methods_supported' must not offer 'plain' (SMART 2.1)");
      }
      boolean launches =
          capabilities.contains(SmartCapability.LAUNCH_EHR)
              || capabilities.contains(SmartCapability.LAUNCH_STANDALONE);
      if (launches && authorizationEndpoint == null) {
        throw new IllegalStateException(
            WHAT + ": 'authorization_endpoint' is required when launch-ehr or launch-standalone"
                + " is advertised");
      }
      if (capabilities.contains(SmartCapability.SSO_OPENID_CONNECT)
          && (issuer == null || jwksUri == null)) {
        throw new IllegalStateException(
            WHAT + ": 'issuer' and 'jwks_uri' are required when sso-openid-connect is advertised");
      }
      return new SmartConfiguration(this);
    }
  }
}
