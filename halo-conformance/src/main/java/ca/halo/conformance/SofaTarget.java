package ca.halo.conformance;

import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * What the kit needs to know of a SoFA under test: its FHIR base, an EMR client with a test
 * sign-in, and an app client registered in its App Catalog. A second test sign-in (another
 * clinician) enables the checks between callers; a rest-hook host reachable from the SoFA enables
 * the rest-hook checks.
 *
 * <pre>{@code
 * SofaTarget t = SofaTarget.builder(URI.create("https://sofa.example.ca/fhir"))
 *     .emrClient("my-emr", "secret", URI.create("https://emr.example.ca/callback"))
 *     .signIn("test-clinician", "password")
 *     .appClient("growth-chart", URI.create("https://app.example.ca/callback"))
 *     .build();
 * }</pre>
 */
public final class SofaTarget {
  /** HALO's subscription topic, the default. */
  public static final String HALO_TOPIC =
      "http://fhir.infoway-inforoute.ca/io/HALO/SubscriptionTopic/sofa-content-update";

  private final URI fhirBase;
  private final URI catalogBase;
  private final String emrClientId;
  private final String emrClientSecret;
  private final URI emrRedirect;
  private final String emrScopes;
  private final String username;
  private final String password;
  private final String username2;
  private final String password2;
  private final String appClientId;
  private final URI appRedirect;
  private final String appId;
  private final String appScopes;
  private final String topic;
  private final String hookHost;
  private final java.util.List<URI> trustedOrigins;

  private SofaTarget(Builder b) {
    this.fhirBase = trim(Objects.requireNonNull(b.fhirBase, "fhirBase"));
    this.catalogBase = b.catalogBase == null ? null : trim(b.catalogBase);
    this.emrClientId = Objects.requireNonNull(b.emrClientId, "emrClient id");
    this.emrClientSecret = b.emrClientSecret;
    this.emrRedirect = Objects.requireNonNull(b.emrRedirect, "emrClient redirect URI");
    this.emrScopes = b.emrScopes;
    this.username = Objects.requireNonNull(b.username, "signIn user");
    this.password = Objects.requireNonNull(b.password, "signIn password");
    this.username2 = b.username2;
    this.password2 = b.password2;
    this.appClientId = Objects.requireNonNull(b.appClientId, "appClient id");
    this.appRedirect = Objects.requireNonNull(b.appRedirect, "appClient redirect URI");
    this.appId = b.appId == null ? b.appClientId : b.appId;
    this.appScopes = b.appScopes;
    this.topic = b.topic;
    this.hookHost = b.hookHost;
    this.trustedOrigins = java.util.List.copyOf(b.trustedOrigins);
  }

  private static URI trim(URI u) {
    String s = u.toString();
    return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
  }

  public static Builder builder(URI fhirBase) {
    return new Builder(fhirBase);
  }

  public URI fhirBase() { return fhirBase; }
  public Optional<URI> catalogBase() { return Optional.ofNullable(catalogBase); }
  public String emrClientId() { return emrClientId; }
  /** Empty for a public EMR client. */
  public Optional<String> emrClientSecret() { return Optional.ofNullable(emrClientSecret); }
  public URI emrRedirect() { return emrRedirect; }
  public String emrScopes() { return emrScopes; }
  public String username() { return username; }
  public String password() { return password; }
  public Optional<String> username2() { return Optional.ofNullable(username2); }
  public Optional<String> password2() { return Optional.ofNullable(password2); }
  public String appClientId() { return appClientId; }
  public URI appRedirect() { return appRedirect; }
  /** The app's id in the App Catalog, sent as {@code appID}; the client id unless set. */
  public String appId() { return appId; }
  public String appScopes() { return appScopes; }
  public String topic() { return topic; }
  /** A host name or address of this machine that the SoFA can reach over http, for rest-hooks. */
  public Optional<String> hookHost() { return Optional.ofNullable(hookHost); }
  /** Origins besides the FHIR base's that may receive the credentials (e.g. an IdP on another host). */
  public java.util.List<URI> trustedOrigins() { return trustedOrigins; }

  @Override
  public String toString() {
    return "SofaTarget{" + fhirBase + ", emr=" + emrClientId + ", app=" + appClientId + "}";
  }

  /** Builds a {@link SofaTarget}; every setting is copied at {@link #build()}. */
  public static final class Builder {
    private final URI fhirBase;
    private URI catalogBase;
    private String emrClientId;
    private String emrClientSecret;
    private URI emrRedirect;
    private String emrScopes = "openid fhirUser user/Context.write user/*.rs offline_access";
    private String username;
    private String password;
    private String username2;
    private String password2;
    private String appClientId;
    private URI appRedirect;
    private String appId;
    private String appScopes = "launch openid fhirUser patient/*.rs patient/Observation.c";
    private String topic = HALO_TOPIC;
    private String hookHost;
    private final java.util.List<URI> trustedOrigins = new java.util.ArrayList<>();

    private Builder(URI fhirBase) {
      this.fhirBase = Objects.requireNonNull(fhirBase, "fhirBase");
    }

    /** The App Catalog's base ({@code [base]/apps}); without it the catalog checks are skipped. */
    public Builder catalogBase(URI v) { this.catalogBase = v; return this; }

    /** The EMR client: {@code secret} null for a public client (PKCE alone). */
    public Builder emrClient(String clientId, String secret, URI redirectUri) {
      this.emrClientId = Objects.requireNonNull(clientId);
      this.emrClientSecret = secret;
      this.emrRedirect = Objects.requireNonNull(redirectUri);
      return this;
    }

    public Builder emrScopes(String v) { this.emrScopes = Objects.requireNonNull(v); return this; }

    /** The test clinician the kit signs in as. */
    public Builder signIn(String user, String pass) {
      this.username = Objects.requireNonNull(user);
      this.password = Objects.requireNonNull(pass);
      return this;
    }

    /** Another clinician, for the checks between callers (foreign clear, subscription visibility). */
    public Builder secondSignIn(String user, String pass) {
      this.username2 = Objects.requireNonNull(user);
      this.password2 = Objects.requireNonNull(pass);
      return this;
    }

    /** A public SMART app client registered with the SoFA (and listed in its catalog). */
    public Builder appClient(String clientId, URI redirectUri) {
      this.appClientId = Objects.requireNonNull(clientId);
      this.appRedirect = Objects.requireNonNull(redirectUri);
      return this;
    }

    public Builder appId(String v) { this.appId = v; return this; }
    public Builder appScopes(String v) { this.appScopes = Objects.requireNonNull(v); return this; }
    public Builder topic(String v) { this.topic = Objects.requireNonNull(v); return this; }
    public Builder hookHost(String v) { this.hookHost = v; return this; }

    /**
     * Another origin the kit may send the sign-in and client credentials to (by default only the
     * FHIR base's origin: a server under test that points elsewhere fails the check instead).
     */
    public Builder trustOrigin(URI v) { this.trustedOrigins.add(Objects.requireNonNull(v)); return this; }

    public SofaTarget build() {
      return new SofaTarget(this);
    }
  }
}
