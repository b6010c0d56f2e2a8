package ca.halo.sofaserver.config;

import ca.halo.server.fhir.RemoteFhirRepository;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The whole configuration of a SoFA server, read from one YAML file with environment overrides
 * by {@link SofaConfigLoader}, checked and with every default filled in.
 *
 * <pre>{@code
 * SofaConfig config = SofaConfigLoader.load(Path.of("sofa.yaml"), System.getenv());
 * URI base = config.server().publicBaseUrl();
 * }</pre>
 *
 * <p>Immutable and thread-safe; secrets are {@link Secret}s, so {@code toString()} prints none.
 * Relative paths in the file are resolved against the file's directory.
 *
 * @param file the configuration file
 * @param server the HTTP side: addresses, TLS, proxies
 * @param store where the SoFA's state lives
 * @param fhir where the FHIR resources of the sessions live
 * @param identity how users sign in, and which outside tokens are accepted
 * @param clients the registered EMR and point-of-care clients
 * @param catalog the App Catalog listings
 * @param subscriptions the CA:FSub subscription engine
 * @param limits bounds of the SoFA
 * @param logging log format and level
 * @param metrics the metrics endpoint
 * @param sources for each key that was set, where: {@code sofa.yaml: server.port} or
 *     {@code HALO_SERVER_PORT (server.port)}
 */
public record SofaConfig(Path file, Server server, Store store, Fhir fhir, Identity identity,
    WatchedFile clients, Catalog catalog, Subscriptions subscriptions, Limits limits,
    Logging logging, Metrics metrics, Map<String, String> sources) {

  public SofaConfig {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(fhir, "fhir");
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(clients, "clients");
    Objects.requireNonNull(catalog, "catalog");
    Objects.requireNonNull(subscriptions, "subscriptions");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(logging, "logging");
    Objects.requireNonNull(metrics, "metrics");
    sources = Map.copyOf(sources);
  }

  /**
   * Where {@code key} was set, for a message about it: {@code sofa.yaml: store.postgres.jdbcUrl}
   * or {@code HALO_STORE_POSTGRES_JDBC_URL (store.postgres.jdbcUrl)}; the file when it was not
   * set.
   */
  public String where(String key) {
    return sources.getOrDefault(key, file + ": " + key);
  }

  /**
   * The HTTP side.
   *
   * @param publicBaseUrl the URL clients use (no trailing slash); the FHIR base is
   *     {@code [publicBaseUrl]/fhir}
   * @param host the interface to bind
   * @param port the port to bind; 0 picks a free one
   * @param maxThreads Jetty's worker threads
   * @param tls the HTTPS connector's key store, when the server terminates TLS itself
   * @param trustedProxies IP addresses or CIDR ranges whose forwarded headers are honoured
   * @param shutdownGrace how long in-flight requests may finish on shutdown
   * @param nodeName this node's name among several (its subscription leases, the User-Agent
   *     of its notifications); a random one when absent
   */
  public record Server(URI publicBaseUrl, String host, int port, int maxThreads,
      Optional<Tls> tls, List<String> trustedProxies, Duration shutdownGrace,
      Optional<String> nodeName) {
    public Server {
      trustedProxies = List.copyOf(trustedProxies);
    }
  }

  /**
   * A PKCS#12 key store with the server's certificate and key.
   *
   * @param keystore the file (checked to exist and open with the password)
   * @param keystorePassword its password
   */
  public record Tls(Path keystore, Secret keystorePassword) {}

  /** Where the SoFA keeps its state. */
  public enum StoreType {
    /** In this process; lost on exit; one node only. */
    MEMORY("memory"),
    /** PostgreSQL; survives restarts; shared by several nodes. */
    POSTGRES("postgres");

    private final String configName;

    StoreType(String configName) {
      this.configName = configName;
    }

    /** As written in the file. */
    public String configName() {
      return configName;
    }
  }

  /**
   * Where the SoFA keeps its state.
   *
   * @param type memory or postgres
   * @param postgres the database, present exactly when {@code type} is postgres
   */
  public record Store(StoreType type, Optional<Postgres> postgres) {}

  /**
   * The PostgreSQL database.
   *
   * @param jdbcUrl {@code jdbc:postgresql://...}, or {@code embedded}: an embedded PostgreSQL
   *     started and stopped with the server (development only)
   * @param user the database user, unless in the URL
   * @param password the password, unless in the URL
   * @param poolSize connections in the pool
   * @param connectionTimeout how long a request waits for a connection
   * @param signingKeyEncryptionKey 32 bytes (AES-256) that encrypt the signing keys at rest
   * @param auditRetention how long audit events are kept
   */
  public record Postgres(String jdbcUrl, Optional<String> user, Optional<Secret> password,
      int poolSize, Duration connectionTimeout, Optional<Secret> signingKeyEncryptionKey,
      Duration auditRetention) {
    /** The word that asks for an embedded PostgreSQL. */
    public static final String EMBEDDED = "embedded";

    /** Whether an embedded PostgreSQL is started. */
    public boolean embedded() {
      return EMBEDDED.equals(jdbcUrl);
    }
  }

  /** Where the FHIR resources of the sessions live. */
  public enum FhirType {
    /** In this process. */
    MEMORY("memory"),
    /** In the store's PostgreSQL database. */
    POSTGRES("postgres"),
    /** On another FHIR R4 server (HAPI JPA, a jurisdiction's repository). */
    REMOTE("remote");

    private final String configName;

    FhirType(String configName) {
      this.configName = configName;
    }

    /** As written in the file. */
    public String configName() {
      return configName;
    }
  }

  /**
   * Where the FHIR resources live.
   *
   * @param type memory, postgres or remote
   * @param remote the remote server, present exactly when {@code type} is remote
   */
  public record Fhir(FhirType type, Optional<RemoteFhir> remote) {}

  /**
   * A remote FHIR R4 server.
   *
   * @param baseUrl its base
   * @param credentials the SoFA's own client credentials there; none: anonymous
   * @param sessionMarker how a resource is marked there as stored in a launch session
   *     ({@code fhir.remote.sessionMarker}: {@code tag}, the default, or {@code source})
   */
  public record RemoteFhir(URI baseUrl, Optional<ClientCredentials> credentials,
      RemoteFhirRepository.SessionMarker sessionMarker) {}

  /**
   * An OAuth client-credentials grant.
   *
   * @param tokenUrl the token endpoint
   * @param clientId the client
   * @param clientSecret its secret ({@code client_secret_basic})
   * @param scope the scope asked for, if any
   */
  public record ClientCredentials(URI tokenUrl, String clientId, Secret clientSecret,
      Optional<String> scope) {}

  /**
   * How users sign in, and which outside tokens the FHIR endpoint accepts.
   *
   * @param dev whether the development form sign-in (and plain-http public URLs) are allowed
   * @param users the form sign-in's users; only with {@code dev}
   * @param upstream the jurisdiction's OpenID Connect provider
   * @param introspection tokens of the jurisdiction's IdP, checked by introspection
   */
  public record Identity(boolean dev, List<DevUser> users, Optional<Upstream> upstream,
      Optional<Introspection> introspection, Optional<Jwks> jwks) {
    public Identity {
      users = List.copyOf(users);
    }
  }

  /**
   * Local validation of the jurisdiction IdP's JWT access tokens: signature against its JWK set
   * (read again every 5 minutes), issuer, audience, expiry.
   *
   * @param url the IdP's JWK set
   * @param issuer the {@code iss} its tokens carry
   * @param audience the audience tokens must carry; default the SoFA's FHIR base
   */
  public record Jwks(URI url, URI issuer, String audience) {}

  /**
   * A user of the development form sign-in.
   *
   * @param username the sign-in name
   * @param password the password
   * @param fhirUser the user's FHIR resource, e.g. {@code Practitioner/123}
   * @param name the display name
   */
  public record DevUser(String username, Secret password, String fhirUser, String name) {}

  /**
   * The upstream OpenID Connect provider the SoFA signs users in with.
   *
   * @param issuer the provider's issuer (its discovery document is read at start)
   * @param clientId the SoFA's client there
   * @param clientSecret its secret
   * @param scope the scope asked for
   */
  public record Upstream(URI issuer, String clientId, Secret clientSecret, String scope) {}

  /**
   * RFC 7662 introspection at the jurisdiction's IdP.
   *
   * @param url the introspection endpoint
   * @param clientId the SoFA's client there
   * @param clientSecret its secret
   * @param audience the audience tokens must carry; default the SoFA's FHIR base
   */
  public record Introspection(URI url, String clientId, Secret clientSecret, String audience) {}

  /**
   * A file read at start and, with {@code reload}, again whenever it changes.
   *
   * @param file the file, if configured
   * @param reload whether changes are picked up while running
   */
  public record WatchedFile(Optional<Path> file, boolean reload) {}

  /**
   * Where the App Catalog comes from: a file (read again when it changes), or the jurisdiction's
   * App Catalog API ({@code GET [url]/apps}), read again every {@code refresh}.
   *
   * @param file the listings file
   * @param reload whether the file is read again when it changes
   * @param url the App Catalog's base URL, instead of a file
   * @param refresh how often the catalog at {@code url} is read again
   */
  public record Catalog(Optional<Path> file, boolean reload, Optional<URI> url, Duration refresh) {}

  /** Where rest-hook subscriptions may point. */
  public enum EndpointPolicyChoice {
    /** https to public addresses only (the default). */
    PUBLIC_HTTPS("public-https"),
    /** Also loopback, over plain http: for development with a local EMR. */
    ALLOW_LOOPBACK("allow-loopback");

    private final String configName;

    EndpointPolicyChoice(String configName) {
      this.configName = configName;
    }

    /** As written in the file. */
    public String configName() {
      return configName;
    }
  }

  /**
   * The CA:FSub subscription engine.
   *
   * @param enabled whether subscriptions are served
   * @param endpointPolicy where rest-hooks may point
   */
  public record Subscriptions(boolean enabled, EndpointPolicyChoice endpointPolicy) {}

  /**
   * Bounds of the SoFA; the defaults are those of {@code SofaServer.Builder}.
   *
   * @param maxBodyBytes largest FHIR request body
   * @param maxEntries most entries of a {@code $set-context} Bundle
   * @param maxContexts live launch contexts (in-memory store)
   * @param maxContextsPerOwner live contexts of one caller
   * @param maxContextBytesPerOwner request bytes of one caller's live contexts
   * @param maxSearchResults stored resources one search may match
   * @param maxConnections TCP connections open at once
   * @param maxWebSockets websockets open at once
   * @param contextTimeToLive how long a launch context lives
   * @param accessTokenLifetime how long an access token is valid
   */
  public record Limits(long maxBodyBytes, int maxEntries, int maxContexts,
      int maxContextsPerOwner, long maxContextBytesPerOwner, int maxSearchResults,
      int maxConnections, int maxWebSockets, Duration contextTimeToLive,
      Duration accessTokenLifetime) {
    /** The defaults of {@code SofaServer.Builder}. */
    public static Limits defaults() {
      return new Limits(5L << 20, 1_000, 100_000, 1_000, 256L << 20, 1_000, 10_000, 1_000,
          Duration.ofHours(8), Duration.ofHours(1));
    }
  }

  /** The log line format. */
  public enum LogFormat {
    /** One human-readable line per event. */
    TEXT("text"),
    /** One JSON object per line. */
    JSON("json");

    private final String configName;

    LogFormat(String configName) {
      this.configName = configName;
    }

    /** As written in the file. */
    public String configName() {
      return configName;
    }
  }

  /**
   * Logging.
   *
   * @param format text or json
   * @param level TRACE, DEBUG, INFO, WARN, ERROR or OFF
   */
  public record Logging(LogFormat format, String level) {}

  /**
   * Metrics.
   *
   * @param enabled whether {@code /metrics} is served
   */
  public record Metrics(boolean enabled) {}
}
