package ca.halo.sofaserver;

import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.auth.RefreshingAccessTokenProvider;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.ClientRegistry;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.UpstreamOidcUserAuthenticator;
import ca.halo.server.authz.UserAuthenticator;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.fhir.RemoteFhirRepository;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.security.IntrospectionTokenValidator;
import ca.halo.server.security.JwtTokenValidator;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.EndpointPolicy;
import ca.halo.sofaserver.config.ConfigException;
import ca.halo.sofaserver.config.SofaConfig;
import ca.halo.sofaserver.config.SofaConfig.DevUser;
import ca.halo.sofaserver.config.SofaConfig.EndpointPolicyChoice;
import ca.halo.sofaserver.config.SofaConfig.FhirType;
import ca.halo.sofaserver.config.SofaConfig.Limits;
import ca.halo.sofaserver.config.SofaConfig.Postgres;
import ca.halo.sofaserver.config.SofaConfig.RemoteFhir;
import ca.halo.sofaserver.config.SofaConfig.StoreType;
import ca.halo.sofaserver.config.internal.ClientsFile;
import ca.halo.sofaserver.internal.CatalogMirror;
import ca.halo.sofaserver.internal.ClientCredentialsTokenSource;
import ca.halo.sofaserver.internal.FileReloader;
import ca.halo.sofaserver.internal.HealthServlet;
import ca.halo.sofaserver.internal.ReloadingClientRegistry;
import ca.halo.sofaserver.internal.RemoteJwks;
import ca.halo.sofaserver.internal.SofaMetrics;
import ca.uhn.fhir.context.FhirContext;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running SoFA server assembled from a {@link SofaConfig}: the stores (in memory, PostgreSQL,
 * or an embedded PostgreSQL for development), the FHIR repository (in memory, PostgreSQL, or a
 * remote FHIR server), sign-in (the development form or the upstream OpenID Connect provider),
 * outside tokens by introspection, the registered clients and the App Catalog (both reloaded when
 * their files change), the rest-hook policy and the limits.
 *
 * <pre>{@code
 * SofaConfig config = SofaConfigLoader.load(Path.of("sofa.yaml"), System.getenv());
 * try (SofaApplication app = SofaApplication.start(config)) {
 *   URI fhir = app.sofa().fhirBase();
 *   app.awaitClosed();
 * }
 * }</pre>
 *
 * <p>A file that changes while running is read again within about two seconds and swapped in
 * whole; an invalid version is logged at WARN and the previous one stays in use.
 *
 * <p>Thread-safe. {@link #close()} stops everything this object started, in reverse order, and
 * is idempotent.
 */
public final class SofaApplication implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SofaApplication.class);
  /** How often watched files are checked for changes. */
  static final Duration RELOAD_INTERVAL = Duration.ofSeconds(2);

  private final SofaConfig config;
  private final Deque<AutoCloseable> resources;
  private final SofaServer sofa;
  private final PostgresDatabase database;
  private final ReloadingClientRegistry clients;
  private final InMemoryAppCatalogRepository catalog;
  private final CountDownLatch closed = new CountDownLatch(1);
  private final SofaMetrics metrics;
  private final HealthServlet health;

  private SofaApplication(SofaConfig config, Deque<AutoCloseable> resources, SofaServer sofa,
      PostgresDatabase database, ReloadingClientRegistry clients,
      InMemoryAppCatalogRepository catalog, SofaMetrics metrics, HealthServlet health) {
    this.metrics = metrics;
    this.health = health;
    this.config = config;
    this.resources = resources;
    this.sofa = sofa;
    this.database = database;
    this.clients = clients;
    this.catalog = catalog;
  }

  /**
   * Starts everything {@code config} describes.
   *
   * @throws ConfigException when a configured resource cannot be used (an unreachable database,
   *     an upstream provider that does not answer, a port in use), naming the key
   * @throws IllegalStateException when the server cannot start for another reason
   */
  public static SofaApplication start(SofaConfig config) {
    Objects.requireNonNull(config, "config");
    Deque<AutoCloseable> resources = new ArrayDeque<>();
    try {
      return assemble(config, resources);
    } catch (RuntimeException | Error e) {
      closeAll(resources);
      throw e;
    }
  }

  private static SofaApplication assemble(SofaConfig config, Deque<AutoCloseable> resources) {
    FhirContext fhirContext = FhirContext.forR4Cached();
    Clock clock = Clock.systemUTC();
    SofaServer.Builder b = SofaServer.builder().fhirContext(fhirContext).clock(clock);

    // the store
    PostgresDatabase database = null;
    if (config.store().type() == StoreType.POSTGRES) {
      Postgres pg = config.store().postgres().orElseThrow();
      database = openDatabase(config, pg, resources);
      PostgresStores.Builder sb = PostgresStores.builder(database).fhirContext(fhirContext)
          .clock(clock).auditRetention(pg.auditRetention());
      pg.signingKeyEncryptionKey().ifPresent(k -> sb.signingKeysEncryptedWith(
          new SecretKeySpec(Base64.getDecoder().decode(k.reveal()), "AES")));
      PostgresStores stores = sb.build();
      resources.push(stores);
      stores.applyTo(b);
    }

    // the FHIR resources
    FhirType fhirType = config.fhir().type();
    if (fhirType == FhirType.MEMORY) {
      b.repository(new InMemoryFhirRepository(fhirContext, clock, 1_000_000));
    } else if (fhirType == FhirType.REMOTE) {
      b.repository(remoteRepository(config, config.fhir().remote().orElseThrow(), fhirContext,
          clock, resources));
    }

    // sign-in and outside tokens
    b.users(users(config));
    List<AccessTokenValidator> outside = new ArrayList<>();
    config.identity().jwks().ifPresent(j -> {
      HaloHttp http = HaloHttp.defaults();
      resources.push(http);
      RemoteJwks keys;
      try {
        keys = new RemoteJwks(http, j.url());
      } catch (RuntimeException e) {
        throw new ConfigException(config.where("identity.tokenValidation.jwks.url") + ": "
            + e.getMessage(), e);
      }
      if (!keys.refresh()) {
        throw new ConfigException(List.of(config.where("identity.tokenValidation.jwks.url")
            + ": cannot read the JWK set at " + j.url()));
      }
      outside.add(JwtTokenValidator.builder(keys).issuer(j.issuer()).audience(j.audience())
          .build());
    });
    config.identity().introspection().ifPresent(i -> {
      IntrospectionTokenValidator v = IntrospectionTokenValidator.builder(i.url(), i.clientId(),
          i.clientSecret().reveal()).audience(i.audience()).build();
      resources.push(v);
      outside.add(v);
    });
    if (!outside.isEmpty()) {
      // a JWT the IdP signed is checked locally first; others go to introspection
      b.externalTokenValidator(outside.size() == 1 ? outside.get(0)
          : AccessTokenValidator.firstOf(outside.get(0), outside.get(1)));
    }

    // clients and the App Catalog
    ReloadingClientRegistry clients = new ReloadingClientRegistry(
        config.clients().file().map(p -> read(config, "clients.file", p, ClientsFile::read))
            .orElse(List.of()));
    b.clients(clients);
    InMemoryAppCatalogRepository fromFile = config.catalog().file()
        .map(p -> new InMemoryAppCatalogRepository(read(config, "catalog.file", p,
            SofaApplication::readCatalog)))
        .orElse(null);
    InMemoryAppCatalogRepository fromApi = null;
    if (config.catalog().url().isPresent()) {
      CatalogMirror mirror;
      try {
        mirror = new CatalogMirror(config.catalog().url().get(), config.catalog().refresh());
      } catch (RuntimeException e) {
        throw new ConfigException(config.where("catalog.url") + ": cannot read the App Catalog"
            + " at " + config.catalog().url().get() + " (" + rootMessage(e) + ")", e);
      }
      resources.push(mirror);
      fromApi = mirror.repository();
    }
    InMemoryAppCatalogRepository catalog = fromApi != null ? fromApi : fromFile;
    if (catalog != null) {
      b.catalog(catalog);
    }

    // the rest
    b.subscriptions(config.subscriptions().enabled());
    b.subscriptionEndpointPolicy(config.subscriptions().endpointPolicy()
        == EndpointPolicyChoice.ALLOW_LOOPBACK
        ? EndpointPolicy.builder().allowLoopback(true).unsafeAllowPlainHttp(true).build()
        : EndpointPolicy.publicHttpsOnly());
    Limits l = config.limits();
    b.maxBodyBytes(l.maxBodyBytes()).maxEntries(l.maxEntries()).maxContexts(l.maxContexts())
        .maxContextsPerOwner(l.maxContextsPerOwner())
        .maxContextBytesPerOwner(l.maxContextBytesPerOwner())
        .maxSearchResults(l.maxSearchResults()).maxConnections(l.maxConnections())
        .maxWebSockets(l.maxWebSockets()).contextTimeToLive(l.contextTimeToLive())
        .accessTokenLifetime(l.accessTokenLifetime());
    b.host(config.server().host()).port(config.server().port())
        .publicBaseUrl(config.server().publicBaseUrl()).maxThreads(config.server().maxThreads())
        .trustedProxies(config.server().trustedProxies())
        .shutdownGrace(config.server().shutdownGrace());
    config.server().tls().ifPresent(t -> b.tls(t.keystore(), t.keystorePassword().reveal()));
    config.server().nodeName().ifPresent(n -> b.subscriptionSettings(x -> x.node(n)
        .userAgent("halo-sofa/" + n)));

    // operating it: liveness, readiness, metrics
    Optional<PostgresDatabase> db = Optional.ofNullable(database);
    b.mount("/healthz", s -> new HealthServlet(() -> s, db));
    b.mount("/readyz", s -> new HealthServlet(() -> s, db));
    SofaMetrics metrics = config.metrics().enabled() ? new SofaMetrics() : null;
    if (metrics != null) {
      b.observer(metrics);
      b.mount("/metrics", s -> metrics.servlet());
    }

    SofaServer sofa;
    try {
      sofa = b.build().start();
    } catch (IllegalStateException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("cannot bind")) {
        throw new ConfigException(config.where("server.port") + ": " + e.getMessage(), e);
      }
      throw e;
    }
    resources.push(sofa);
    if (metrics != null) {
      metrics.watch(sofa, db);
    }

    FileReloader reloader = null;
    if (config.clients().reload() && config.clients().file().isPresent()
        || config.catalog().reload() && fromFile != null) {
      reloader = new FileReloader(RELOAD_INTERVAL);
      resources.push(reloader);
      if (config.clients().reload()) {
        FileReloader r = reloader;
        config.clients().file().ifPresent(p -> r.watch("clients.file", p,
            f -> clients.replaceAll(ClientsFile.read(f))));
      }
      if (config.catalog().reload() && fromFile != null) {
        reloader.watch("catalog.file", config.catalog().file().orElseThrow(),
            f -> catalog.replaceAll(readCatalog(f)));
      }
    }
    LOG.info("SoFA at {} (store {}, FHIR {}, {} clients{})", sofa.baseUrl(),
        config.store().type().configName(), fhirType.configName(), clients.all().size(),
        catalog == null ? "" : ", " + catalog.all().size() + " catalog apps");
    return new SofaApplication(config, resources, sofa, database, clients, catalog, metrics,
        new HealthServlet(() -> sofa, db));
  }

  private static PostgresDatabase openDatabase(SofaConfig config, Postgres pg,
      Deque<AutoCloseable> resources) {
    String key = config.where("store.postgres.jdbcUrl");
    String url = pg.jdbcUrl();
    if (pg.embedded()) {
      EmbeddedPostgres embedded;
      try {
        embedded = EmbeddedPostgres.builder().start();
      } catch (IOException | RuntimeException e) {
        throw new ConfigException(key + ": cannot start the embedded PostgreSQL ("
            + rootMessage(e) + ")", e);
      }
      resources.push(embedded);
      url = embedded.getJdbcUrl("postgres", "postgres");
      LOG.warn("store.postgres.jdbcUrl is embedded: a throw-away PostgreSQL for development,"
          + " deleted on exit");
    }
    PostgresDatabase.Builder db = PostgresDatabase.builder(url).maxPoolSize(pg.poolSize())
        .connectionTimeout(pg.connectionTimeout());
    pg.user().ifPresent(db::user);
    pg.password().ifPresent(p -> db.password(p.reveal()));
    try {
      PostgresDatabase d = db.build();
      resources.push(d);
      return d;
    } catch (RuntimeException e) {
      throw new ConfigException(key + ": cannot use the database at " + redact(url) + " ("
          + rootMessage(e) + ")", e);
    }
  }

  private static RemoteFhirRepository remoteRepository(SofaConfig config, RemoteFhir remote,
      FhirContext fhirContext, Clock clock, Deque<AutoCloseable> resources) {
    HaloHttp http = HaloHttp.defaults();
    resources.push(http);
    try {
      http.checkTransport(remote.baseUrl());
      remote.credentials().ifPresent(c -> http.checkTransport(c.tokenUrl()));
    } catch (RuntimeException e) {
      throw new ConfigException(config.where("fhir.remote.baseUrl") + ": " + e.getMessage(), e);
    }
    if (remote.credentials().isEmpty()) {
      return RemoteFhirRepository.builder(FhirClients.anonymousClient(fhirContext,
          remote.baseUrl(), http)).sessionMarker(remote.sessionMarker()).build();
    }
    SofaConfig.ClientCredentials c = remote.credentials().get();
    AccessTokenProvider tokens = RefreshingAccessTokenProvider.builder(
        new ClientCredentialsTokenSource(http, c.tokenUrl(), c.clientId(),
            c.clientSecret().reveal(), c.scope().orElse(null), clock)).clock(clock).build();
    return RemoteFhirRepository.builder(FhirClients.genericClient(fhirContext, remote.baseUrl(),
        http, tokens)).sessionMarker(remote.sessionMarker()).build();
  }

  private static UserAuthenticator users(SofaConfig config) {
    if (config.identity().upstream().isPresent()) {
      SofaConfig.Upstream u = config.identity().upstream().get();
      try {
        return UpstreamOidcUserAuthenticator.builder(u.issuer(), u.clientId(),
            u.clientSecret().reveal()).scope(u.scope()).build();
      } catch (RuntimeException e) {
        throw new ConfigException(config.where("identity.upstream.issuer")
            + ": cannot use the OpenID provider at " + u.issuer() + " (" + rootMessage(e) + ")",
            e);
      }
    }
    FormUserAuthenticator form = new FormUserAuthenticator();
    for (DevUser d : config.identity().users()) {
      form.addUser(d.username(), d.password().reveal(),
          new AuthenticatedUser(d.username(), d.fhirUser(), d.name()));
    }
    return form;
  }

  private interface Reader<T> {
    T read(Path file) throws IOException;
  }

  private static <T> T read(SofaConfig config, String key, Path file, Reader<T> reader) {
    try {
      return reader.read(file);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException(config.where(key) + ": " + file + ": " + e.getMessage(), e);
    }
  }

  private static List<AppListing> readCatalog(Path file) {
    try {
      return AppListing.parseList(ca.halo.sofaserver.config.internal.TextFiles.read(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The configuration this application runs. */
  public SofaConfig config() {
    return config;
  }

  /** The running SoFA. */
  public SofaServer sofa() {
    return sofa;
  }

  /** The PostgreSQL database, when {@code store.type} is postgres. */
  public Optional<PostgresDatabase> database() {
    return Optional.ofNullable(database);
  }

  /** The clients of {@code clients.file}, as currently loaded. */
  public ClientRegistry clients() {
    return clients;
  }

  /** The App Catalog of {@code catalog.file}, when one is configured. */
  public Optional<InMemoryAppCatalogRepository> catalog() {
    return Optional.ofNullable(catalog);
  }

  /**
   * The metrics as {@code /metrics} would answer now, in the Prometheus text format; empty
   * unless {@code metrics.enabled}.
   */
  public Optional<String> metrics() {
    return Optional.ofNullable(metrics).map(SofaMetrics::scrape);
  }

  /** Whether {@code /readyz} would answer 200 now: database, migrations, signing keys. */
  public boolean ready() {
    return !health.readiness().containsValue(false);
  }

  /** Blocks until {@link #close()} has run. */
  public void awaitClosed() throws InterruptedException {
    closed.await();
  }

  /** Stops the file watcher, the SoFA, the stores, the database and the embedded PostgreSQL. */
  @Override
  public void close() {
    synchronized (resources) {
      closeAll(resources);
    }
    closed.countDown();
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    while (!resources.isEmpty()) {
      AutoCloseable r = resources.pop();
      try {
        r.close();
      } catch (Exception e) {
        LOG.warn("{} did not close cleanly ({})", r.getClass().getSimpleName(),
            e.getClass().getSimpleName());
      }
    }
  }

  private static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&]*", "$1***");
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return redact(m.lines().findFirst().orElse(m));
  }

  @Override
  public String toString() {
    return "SofaApplication{" + sofa + "}";
  }
}
