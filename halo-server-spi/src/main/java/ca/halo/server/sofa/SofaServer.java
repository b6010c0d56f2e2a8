package ca.halo.server.sofa;

import ca.halo.core.SetContextDefaults;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.audit.InMemoryAuditSink;
import ca.halo.server.authz.ClientRegistry;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.SmartAuthorizationServer;
import ca.halo.server.authz.UserAuthenticator;
import ca.halo.server.catalog.AppCatalogRepository;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.EndpointPolicy;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.RestfulServer;
import jakarta.servlet.http.HttpServlet;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * A whole SMART on FHIR Accelerator in one process: the FHIR endpoint (HAPI {@link RestfulServer})
 * with {@code $set-context} and {@code $clear-context}, the SMART authorization server, and the
 * SMART configuration, on an embedded Jetty, with in-memory defaults for every SPI.
 *
 * <pre>{@code
 * try (SofaServer sofa = SofaServer.builder()
 *     .users(new FormUserAuthenticator().addUser("dr", "pw", user))
 *     .clients(registry)
 *     .build().start()) {
 *   URI fhirBase = sofa.fhirBase();   // http://127.0.0.1:PORT/fhir
 * }
 * }</pre>
 *
 * <p>Paths: {@code /fhir/*} (FHIR R4), {@code /fhir/.well-known/smart-configuration},
 * {@code /fhir/Subscription} with {@code $status}, {@code $events},
 * {@code $get-ws-binding-token} and the websocket at {@code /ws/subscriptions} (CA:FSub),
 * {@code /catalog/apps} (when an App Catalog is configured), {@code /auth/*} (authorize, sign-in, token, introspect, revoke, jwks,
 * {@code .well-known/openid-configuration}). CORS is open so browser apps can call it (no
 * credentials are allowed cross-origin).
 *
 * <p>Security: every FHIR request's bearer token is checked before its body is read, bodies are
 * bounded (bytes, values, depth, numbers; exact media types), and one rule ({@link
 * ca.halo.server.security.AccessRules}) decides every read, search, write and subscription
 * notification. Every table is bounded and every limit is a builder setting; the README's security
 * section lists them with their defaults. Rest-hooks pass the {@link
 * ca.halo.server.subscription.EndpointPolicy} (default: https to public addresses only).
 *
 * <p>Thread-safe. {@link #close()} stops Jetty and the expiry thread ({@code halo-sofa-expiry},
 * a daemon that deletes expired contexts every {@code expirySweepInterval}).
 *
 * <p>Spec: HALO CA:SoFA (Context Manager), CA:SoF-2 and CA:SoF-3 (Resource and Authorization
 * Server of the SoFA flow).
 */
public final class SofaServer implements AutoCloseable {
  private final Settings cfg;
  private volatile SofaAssembly running;

  private SofaServer(Settings cfg) {
    this.cfg = cfg;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the port, wires every part and starts serving.
   *
   * @throws IllegalStateException if the server cannot start (port in use, ...)
   */
  public synchronized SofaServer start() {
    if (running != null && running.serving()) {
      throw new IllegalStateException("already started");
    }
    SofaAssembly a = new SofaAssembly(cfg, this);
    running = a; // mounted servlets may ask for baseUrl() while they are made
    try {
      a.start();
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    return this;
  }

  /** The port this server listens on (the one bound, when it was asked for port 0). */
  public int localPort() {
    return started().localPort;
  }

  /** {@code http://host:port}. */
  public URI baseUrl() {
    return started().baseUrl;
  }

  /** The FHIR base ({@code iss} of launches). */
  public URI fhirBase() {
    return URI.create(baseUrl() + "/fhir");
  }

  /** The App Catalog base ({@code GET [catalogBase]/apps}), when a catalog was configured. */
  public URI catalogBase() {
    if (cfg.catalog == null) {
      throw new IllegalStateException("no App Catalog configured (Builder#catalog)");
    }
    return URI.create(baseUrl() + "/catalog");
  }

  /** The subscription engine (CA:FSub), when subscriptions are on (the default). */
  public SubscriptionEngine subscriptions() {
    SubscriptionEngine e = started().subscriptions;
    if (e == null) {
      throw new IllegalStateException("subscriptions are off (Builder#subscriptions(false))");
    }
    return e;
  }

  public SmartAuthorizationServer authorizationServer() {
    return started().authorizationServer;
  }

  public ContextManager contextManager() {
    return started().contextManager;
  }

  public FhirResourceRepository repository() {
    return cfg.repository;
  }

  public LaunchContextStore contexts() {
    return cfg.contexts;
  }

  public AuditSink audit() {
    return cfg.audit;
  }

  public FhirContext fhirContext() {
    return cfg.fhirContext;
  }

  private SofaAssembly started() {
    SofaAssembly a = running;
    if (a == null || a.baseUrl == null) {
      throw new IllegalStateException("call start() first");
    }
    return a;
  }

  @Override
  public synchronized void close() {
    // first stop taking requests and let those in flight finish (within shutdownGrace), then
    // the engine, which hands its subscription leases back so another node takes them at once
    // the parts stay readable after close (as before); start() makes fresh ones
    SofaAssembly a = running;
    if (a != null) {
      a.close();
    }
  }

  @Override
  public String toString() {
    SofaAssembly a = running;
    return "SofaServer{" + (a == null || a.baseUrl == null ? "not started" : a.baseUrl) + "}";
  }

  /**
   * The settings of one server, frozen by {@link Builder#build()}: later changes to the builder,
   * or a second {@code build()}, do not reach a server already built. Defaults that are stores
   * (FHIR repository, launch contexts, clients, audit) are made here, one per server.
   */
  static final class Settings {
    final String host;
    final java.nio.file.Path tlsKeyStore;
    final String tlsKeyStorePassword;
    final List<String> trustedProxies;
    final Duration shutdownGrace;
    final ca.halo.server.observe.SofaObserver observer;
    final int port;
    final URI publicBaseUrl;
    final FhirContext fhirContext;
    final Clock clock;
    final FhirResourceRepository repository;
    final LaunchContextStore contexts;
    final ClientRegistry clients;
    final UserAuthenticator users;
    final AuditSink audit;
    final AccessTokenValidator externalValidator;
    final AppCatalogRepository catalog;
    final boolean subscriptions;
    final List<java.util.function.Consumer<SubscriptionEngine.Builder>> subscriptionCustomizers;
    final List<java.util.function.Consumer<SmartAuthorizationServer.Builder>> authorizationCustomizers;
    final java.util.Set<String> allowedTypes;
    final ResourceValidator validator;
    final Duration contextTimeToLive;
    final Duration expirySweepInterval;
    final Duration accessTokenLifetime;
    final boolean requireSameUser;
    final java.util.Set<String> contextWriteScopes;
    final java.util.Set<String> adminScopes;
    final long maxBodyBytes;
    final long maxElements;
    final int maxEntries;
    final int maxContexts;
    final int maxContextsPerOwner;
    final long maxContextBytesPerOwner;
    final long maxSessionWriteBytes;
    final int maxSessionWriteResources;
    final int maxWebSockets;
    final int maxSearchResults;
    final int maxConnections;
    final Duration webSocketBindTimeout;
    final EndpointPolicy endpointPolicy;
    final ca.halo.server.subscription.SubscriptionStore subscriptionStore;
    final int maxThreads;
    final Map<String, Function<SofaServer, HttpServlet>> mounts;
    final List<java.util.function.Consumer<ContextManager>> contextManagerCustomizers;

    private Settings(Builder b, FhirContext fhirContext, FhirResourceRepository repository,
        LaunchContextStore contexts, ClientRegistry clients, AuditSink audit) {
      this.host = b.host;
      this.tlsKeyStore = b.tlsKeyStore;
      this.tlsKeyStorePassword = b.tlsKeyStorePassword;
      this.trustedProxies = List.copyOf(b.trustedProxies);
      this.shutdownGrace = b.shutdownGrace;
      this.observer = b.observer;
      this.port = b.port;
      this.publicBaseUrl = b.publicBaseUrl;
      this.fhirContext = fhirContext;
      this.clock = b.clock;
      this.repository = repository;
      this.contexts = contexts;
      this.clients = clients;
      this.users = b.users;
      this.audit = audit;
      this.externalValidator = b.externalValidator;
      this.catalog = b.catalog;
      this.subscriptions = b.subscriptions;
      this.subscriptionCustomizers = List.copyOf(b.subscriptionCustomizers);
      this.authorizationCustomizers = List.copyOf(b.authorizationCustomizers);
      this.allowedTypes = b.allowedTypes;
      this.validator = b.validator;
      this.contextTimeToLive = b.contextTimeToLive;
      this.expirySweepInterval = b.expirySweepInterval;
      this.accessTokenLifetime = b.accessTokenLifetime;
      this.requireSameUser = b.requireSameUser;
      this.contextWriteScopes = b.contextWriteScopes;
      this.adminScopes = b.adminScopes;
      this.maxBodyBytes = b.maxBodyBytes;
      this.maxElements = b.maxElements;
      this.maxEntries = b.maxEntries;
      this.maxContexts = b.maxContexts;
      this.maxContextsPerOwner = b.maxContextsPerOwner;
      this.maxContextBytesPerOwner = b.maxContextBytesPerOwner;
      this.maxSessionWriteBytes = b.maxSessionWriteBytes;
      this.maxSessionWriteResources = b.maxSessionWriteResources;
      this.maxWebSockets = b.maxWebSockets;
      this.maxSearchResults = b.maxSearchResults;
      this.maxConnections = b.maxConnections;
      this.webSocketBindTimeout = b.webSocketBindTimeout;
      this.endpointPolicy = b.endpointPolicy;
      this.subscriptionStore = b.subscriptionStore;
      this.maxThreads = b.maxThreads;
      this.mounts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.mounts));
      this.contextManagerCustomizers = List.copyOf(b.contextManagerCustomizers);
    }
  }

  /** Builds a {@link SofaServer}; every SPI has an in-memory default. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private java.nio.file.Path tlsKeyStore;
    private String tlsKeyStorePassword;
    private final List<String> trustedProxies = new ArrayList<>();
    private Duration shutdownGrace = Duration.ofSeconds(20);
    private ca.halo.server.observe.SofaObserver observer = ca.halo.server.observe.SofaObserver.NONE;
    private int port = 0;
    private URI publicBaseUrl;
    private FhirContext fhirContext;
    private Clock clock = Clock.systemUTC();
    private FhirResourceRepository repository;
    private LaunchContextStore contexts;
    private ClientRegistry clients;
    private UserAuthenticator users;
    private AuditSink audit;
    private AccessTokenValidator externalValidator;
    private AppCatalogRepository catalog;
    private boolean subscriptions = true;
    private final List<java.util.function.Consumer<SubscriptionEngine.Builder>> subscriptionCustomizers =
        new ArrayList<>();
    private final List<java.util.function.Consumer<SmartAuthorizationServer.Builder>> authorizationCustomizers =
        new ArrayList<>();
    private java.util.Set<String> allowedTypes = SetContextDefaults.ALLOWED_RESOURCE_TYPES;
    private ResourceValidator validator;
    private Duration contextTimeToLive = Duration.ofHours(8);
    private Duration expirySweepInterval = Duration.ofSeconds(30);
    private Duration accessTokenLifetime = Duration.ofHours(1);
    private boolean requireSameUser = true;
    private java.util.Set<String> contextWriteScopes = SetContextDefaults.WRITE_SCOPES;
    private java.util.Set<String> adminScopes = java.util.Set.of("system/Context.admin");
    private long maxBodyBytes = 5L * 1024 * 1024;
    private long maxElements = 200_000;
    private int maxEntries = 1_000;
    private int maxContexts = 100_000;
    private int maxContextsPerOwner = 1_000;
    private long maxContextBytesPerOwner = 256L << 20;
    private long maxSessionWriteBytes = 16L << 20;
    private int maxSessionWriteResources = 1_000;
    private int maxWebSockets = 1_000;
    private int maxSearchResults = 1_000;
    private int maxConnections = 10_000;
    private Duration webSocketBindTimeout = Duration.ofSeconds(30);
    private EndpointPolicy endpointPolicy = EndpointPolicy.publicHttpsOnly();
    private ca.halo.server.subscription.SubscriptionStore subscriptionStore;
    private int maxThreads = 64;
    private final Map<String, Function<SofaServer, HttpServlet>> mounts = new LinkedHashMap<>();
    private final List<java.util.function.Consumer<ContextManager>> contextManagerCustomizers =
        new ArrayList<>();

    private Builder() {}

    /** The interface to bind. Default 127.0.0.1 (loopback only). */
    public Builder host(String v) { this.host = Objects.requireNonNull(v); return this; }
    /** The port; 0 (default) picks a free one. */
    public Builder port(int v) { this.port = v; return this; }
    /** The URL clients see, when a proxy sits in front. */
    public Builder publicBaseUrl(URI v) { this.publicBaseUrl = v; return this; }
    public Builder fhirContext(FhirContext v) { this.fhirContext = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    public Builder repository(FhirResourceRepository v) { this.repository = Objects.requireNonNull(v); return this; }
    public Builder contexts(LaunchContextStore v) { this.contexts = Objects.requireNonNull(v); return this; }
    public Builder clients(ClientRegistry v) { this.clients = Objects.requireNonNull(v); return this; }
    public Builder users(UserAuthenticator v) { this.users = Objects.requireNonNull(v); return this; }
    public Builder audit(AuditSink v) { this.audit = Objects.requireNonNull(v); return this; }
    /**
     * A validator for tokens from the jurisdictional IdP (introspection or JWT), tried after the
     * SoFA's own.
     */
    public Builder externalTokenValidator(AccessTokenValidator v) { this.externalValidator = v; return this; }
    public Builder allowedTypes(java.util.Set<String> v) { this.allowedTypes = java.util.Set.copyOf(v); return this; }
    /** Checks uploaded resources; default: base R4 required elements. */
    public Builder validator(ResourceValidator v) { this.validator = v; return this; }
    public Builder contextTimeToLive(Duration v) { this.contextTimeToLive = Objects.requireNonNull(v); return this; }
    public Builder expirySweepInterval(Duration v) { this.expirySweepInterval = Objects.requireNonNull(v); return this; }
    public Builder accessTokenLifetime(Duration v) { this.accessTokenLifetime = Objects.requireNonNull(v); return this; }
    public Builder requireSameUser(boolean v) { this.requireSameUser = v; return this; }
    /**
     * Scopes, any one of which allows {@code $set-context}; default {@code system/Context.write}
     * and {@code user/Context.write}. Set it to what the jurisdictional IdP issues.
     */
    public Builder contextWriteScopes(java.util.Set<String> v) { this.contextWriteScopes = java.util.Set.copyOf(v); return this; }
    /**
     * Scopes that may clear any context, see every session and subscribe to everything. Default
     * {@code system/Context.admin}.
     */
    public Builder adminScopes(java.util.Set<String> v) { this.adminScopes = java.util.Set.copyOf(v); return this; }
    /** Largest accepted FHIR request body. Default 5 MiB; larger is answered 413. */
    public Builder maxBodyBytes(long v) { this.maxBodyBytes = v; return this; }
    /**
     * Most JSON values (or XML elements and attributes) in a FHIR request body, checked before
     * it is parsed. Default 200,000; more is answered 413.
     */
    public Builder maxElements(long v) { this.maxElements = v; return this; }
    /** Most entries in a {@code $set-context} Bundle. Default 1,000; more is answered 413. */
    public Builder maxEntries(int v) { this.maxEntries = v; return this; }
    /** Bound on live launch contexts of the default store. Default 100,000; then 503. */
    public Builder maxContexts(int v) { this.maxContexts = v; return this; }
    /** Live contexts one caller (client and user) may hold. Default 1,000; then 429. */
    public Builder maxContextsPerOwner(int v) { this.maxContextsPerOwner = v; return this; }
    /** Request bytes of one caller's live contexts. Default 256 MiB; then 429. */
    public Builder maxContextBytesPerOwner(long v) { this.maxContextBytesPerOwner = v; return this; }
    /**
     * What one launch may write after launch: request bytes (creates and updates) and new
     * resources. Defaults 16 MiB and 1,000; past either, 413.
     */
    public Builder maxSessionWrites(long bytes, int resources) {
      this.maxSessionWriteBytes = bytes;
      this.maxSessionWriteResources = resources;
      return this;
    }
    /**
     * Stored resources one FHIR search may match (before the session rule filters them).
     * Default 1,000; more is answered 422 (narrow the search).
     */
    public Builder maxSearchResults(int v) { this.maxSearchResults = v; return this; }
    /** TCP connections open at once; past it new ones wait to be accepted. Default 10,000. */
    public Builder maxConnections(int v) { this.maxConnections = v; return this; }
    /** Websockets open at once. Default 1,000; then the upgrade is answered 503. */
    public Builder maxWebSockets(int v) { this.maxWebSockets = v; return this; }
    /** How long a websocket may stay open before it binds to a subscription. Default 30 s. */
    public Builder webSocketBindTimeout(Duration v) { this.webSocketBindTimeout = Objects.requireNonNull(v); return this; }
    /**
     * Where rest-hook subscriptions may point, and which headers they may carry. Default
     * {@link EndpointPolicy#publicHttpsOnly()}.
     */
    public Builder subscriptionEndpointPolicy(EndpointPolicy v) { this.endpointPolicy = Objects.requireNonNull(v); return this; }
    public Builder maxThreads(int v) { this.maxThreads = v; return this; }

    /**
     * Serves the App Catalog supplier at {@code /catalog} and registers its active apps as
     * clients of the authorization server (beside {@link #clients(ClientRegistry)}).
     */
    public Builder catalog(AppCatalogRepository v) { this.catalog = Objects.requireNonNull(v); return this; }

    /**
     * Adjusts the authorization server (table capacity, state store, sign-in limits, ...); runs
     * after the settings above, so it may override them.
     */
    public Builder authorizationSettings(java.util.function.Consumer<SmartAuthorizationServer.Builder> c) {
      this.authorizationCustomizers.add(Objects.requireNonNull(c));
      return this;
    }

    /**
     * Where subscriptions and their events live; default a fresh in-memory store. Several nodes
     * share one (e.g. {@code PostgresSubscriptionStore}).
     */
    public Builder subscriptionStore(ca.halo.server.subscription.SubscriptionStore v) {
      this.subscriptionStore = Objects.requireNonNull(v);
      return this;
    }

    /**
     * Where the authorization server keeps its state (sign-ins, codes, grants, revocations, ...):
     * a store shared by every node when the SoFA runs on several. Default: in memory, this node
     * only. Same as {@code authorizationSettings(a -> a.stateStore(store))}.
     */
    public Builder authorizationStore(ca.halo.server.authz.AuthorizationStateStore store) {
      Objects.requireNonNull(store, "store");
      return authorizationSettings(a -> a.stateStore(store));
    }

    /**
     * Where the authorization server keeps its signing keys: one store shared by every node, so
     * all sign with the same key and accept each other's tokens, and keys survive restarts.
     * Default: a key made in memory at start. Same as
     * {@code authorizationSettings(a -> a.signingKeys(store))}.
     */
    public Builder signingKeys(ca.halo.server.authz.SigningKeyStore store) {
      Objects.requireNonNull(store, "store");
      return authorizationSettings(a -> a.signingKeys(store));
    }

    /** Turns the CA:FSub subscription engine on (default) or off. */
    public Builder subscriptions(boolean v) { this.subscriptions = v; return this; }

    /** Adjusts the subscription engine (retention, retries, backoff, ...). */
    public Builder subscriptionSettings(java.util.function.Consumer<SubscriptionEngine.Builder> c) {
      this.subscriptionCustomizers.add(Objects.requireNonNull(c));
      return this;
    }

    /** Serves another servlet from the same Jetty (App Catalog, subscriptions, sandbox pages). */
    public Builder mount(String pathSpec, Function<SofaServer, HttpServlet> servlet) {
      this.mounts.put(Objects.requireNonNull(pathSpec), Objects.requireNonNull(servlet));
      return this;
    }

    /**
     * Serves HTTPS with the key and certificate chain of a PKCS12 keystore (instead of plain
     * HTTP, for a SoFA with no TLS-terminating proxy in front).
     */
    public Builder tls(java.nio.file.Path pkcs12, String password) {
      this.tlsKeyStore = Objects.requireNonNull(pkcs12, "pkcs12");
      this.tlsKeyStorePassword = Objects.requireNonNull(password, "password");
      return this;
    }

    /**
     * The reverse proxies in front (IP addresses or CIDR blocks, e.g. {@code 10.0.0.0/8}): their
     * {@code Forwarded} / {@code X-Forwarded-*} headers give the client's address and scheme.
     * Such headers from anyone else are ignored. Default none.
     */
    public Builder trustedProxies(java.util.Collection<String> v) {
      ca.halo.server.sofa.internal.TrustedProxies.check(v);
      this.trustedProxies.clear();
      this.trustedProxies.addAll(v);
      return this;
    }

    /** How long {@link SofaServer#close()} lets requests in flight finish. Default 20 s. */
    public Builder shutdownGrace(Duration v) { this.shutdownGrace = Objects.requireNonNull(v); return this; }

    /** Hears requests, token requests and notifications (metrics). Default none. */
    public Builder observer(ca.halo.server.observe.SofaObserver v) {
      this.observer = Objects.requireNonNull(v);
      return this;
    }

    /** Runs once the ContextManager exists (to add change listeners, for one). */
    public Builder onContextManager(java.util.function.Consumer<ContextManager> c) {
      this.contextManagerCustomizers.add(Objects.requireNonNull(c));
      return this;
    }

    /**
     * Checks the settings and freezes them into a new server (not started). The builder is not
     * changed: building twice gives two independent servers, each with its own default stores
     * (FHIR repository, launch contexts, client registry, audit, subscriptions, signing keys);
     * stores given to the builder are shared by both.
     */
    public SofaServer build() {
      if (users == null) {
        throw new IllegalStateException("users (a UserAuthenticator) is required");
      }
      if (maxBodyBytes <= 0 || maxThreads < 8) {
        throw new IllegalStateException("maxBodyBytes must be positive and maxThreads at least 8");
      }
      if (maxElements <= 0 || maxEntries <= 0 || maxContextsPerOwner <= 0
          || maxContextBytesPerOwner <= 0 || maxSessionWriteBytes <= 0
          || maxSessionWriteResources <= 0 || maxWebSockets <= 0 || maxSearchResults <= 0
          || maxConnections <= 0) {
        throw new IllegalStateException("every limit must be positive");
      }
      // the builder is left as it is: building twice gives two servers with their own stores
      FhirContext ctx = fhirContext != null ? fhirContext : FhirContext.forR4Cached();
      return new SofaServer(new Settings(this, ctx,
          repository != null ? repository : new InMemoryFhirRepository(ctx, clock, 1_000_000),
          contexts != null ? contexts : new InMemoryLaunchContextStore(maxContexts),
          clients != null ? clients : new InMemoryClientRegistry(),
          audit != null ? audit : new InMemoryAuditSink()));
    }
  }
}
