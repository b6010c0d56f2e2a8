package ca.halo.server.sofa;

import ca.halo.server.authz.ClientRegistry;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.SmartAuthorizationServer;
import ca.halo.server.catalog.AppCatalogRepository;
import ca.halo.server.catalog.CatalogClientRegistry;
import ca.halo.server.catalog.internal.AppCatalogServlet;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.sofa.internal.AuthInterceptor;
import ca.halo.server.sofa.internal.BodyLimitFilter;
import ca.halo.server.sofa.internal.JsonServlet;
import ca.halo.server.sofa.internal.OAuthServlet;
import ca.halo.server.sofa.internal.OperationsProvider;
import ca.halo.server.sofa.internal.SessionResourceProvider;
import ca.halo.server.sofa.internal.SubscriptionProvider;
import ca.halo.server.sofa.internal.SubscriptionWebSocketServlet;
import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.core.catalog.AppListing;
import ca.halo.server.security.AccessRules;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.internal.BearerTokenFilter;
import ca.halo.server.sofa.internal.WriteBudget;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.ee10.websocket.server.config.JettyWebSocketServletContainerInitializer;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.StrictErrorHandler;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.HardcodedServerAddressStrategy;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import java.net.URI;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.CrossOriginHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires one {@link SofaServer} from its frozen settings: the Jetty server and its connector, the
 * authorization server, the context manager, the subscription engine, the FHIR endpoint, the
 * filters and servlets, and the expiry sweeper. Made by {@link SofaServer#start()}; everything it
 * starts, {@link #close()} stops.
 */
final class SofaAssembly {
  private static final Logger LOG = LoggerFactory.getLogger(SofaServer.class);

  private final SofaServer.Settings cfg;
  private final SofaServer server;
  private Server jetty;
  private ScheduledExecutorService sweeper;
  volatile URI baseUrl;
  volatile int localPort;
  volatile SmartAuthorizationServer authorizationServer;
  volatile ContextManager contextManager;
  volatile SubscriptionEngine subscriptions;

  SofaAssembly(SofaServer.Settings cfg, SofaServer server) {
    this.cfg = cfg;
    this.server = server;
  }

  /** Binds the port, wires every part and starts serving; on failure stops what it started. */
  synchronized void start() {
    QueuedThreadPool pool = new QueuedThreadPool(cfg.maxThreads, 4);
    pool.setName("halo-sofa");
    jetty = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    // Jetty's per-connection header cache flushes itself whenever a field no longer fits; a
    // bearer token (about 1 KB) fills it, so every request cleared and refilled 64 KiB (7 % of a
    // $set-context's CPU in the profile). Off, as Jetty's own measurements found it worth ~5 %.
    http.setHeaderCacheSize(-1);
    if (!cfg.trustedProxies.isEmpty()) {
      // X-Forwarded-* and Forwarded honoured only from the proxies in front
      http.addCustomizer(new ca.halo.server.sofa.internal.TrustedProxies(cfg.trustedProxies));
    }
    ServerConnector connector;
    if (cfg.tlsKeyStore != null) {
      org.eclipse.jetty.util.ssl.SslContextFactory.Server ssl =
          new org.eclipse.jetty.util.ssl.SslContextFactory.Server();
      ssl.setKeyStorePath(cfg.tlsKeyStore.toString());
      ssl.setKeyStorePassword(cfg.tlsKeyStorePassword);
      ssl.setKeyStoreType("PKCS12");
      org.eclipse.jetty.server.SecureRequestCustomizer secure =
          new org.eclipse.jetty.server.SecureRequestCustomizer();
      secure.setSniHostCheck(false);
      http.addCustomizer(secure);
      connector = new ServerConnector(jetty,
          new org.eclipse.jetty.server.SslConnectionFactory(ssl, "http/1.1"),
          new HttpConnectionFactory(http));
    } else {
      connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
    }
    connector.setHost(cfg.host);
    connector.setPort(cfg.port);
    jetty.addConnector(connector);
    jetty.addBean(new NetworkConnectionLimit(cfg.maxConnections, connector));
    jetty.setErrorHandler(quiet(new ErrorHandler()));
    try {
      connector.open();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot bind " + cfg.host + ":" + cfg.port + ": "
          + e.getMessage(), e);
    }
    localPort = connector.getLocalPort();
    baseUrl = cfg.publicBaseUrl != null ? cfg.publicBaseUrl
        : URI.create((cfg.tlsKeyStore != null ? "https://" : "http://") + hostForUrl(cfg.host)
            + ":" + connector.getLocalPort());
    URI fhirBase = URI.create(baseUrl + "/fhir");

    ClientRegistry clientRegistry = cfg.catalog == null ? cfg.clients
        : InMemoryClientRegistry.firstOf(cfg.clients, new CatalogClientRegistry(cfg.catalog));
    SmartAuthorizationServer.Builder asb = SmartAuthorizationServer.builder()
        .issuer(URI.create(baseUrl + "/auth")).fhirBase(fhirBase)
        .clients(clientRegistry).users(cfg.users).contexts(cfg.contexts).audit(cfg.audit)
        .clock(cfg.clock).accessTokenLifetime(cfg.accessTokenLifetime)
        .requireSameUser(cfg.requireSameUser);
    cfg.authorizationCustomizers.forEach(c -> c.accept(asb));
    authorizationServer = asb.build();
    authorizationServer.maintainKeys(); // a signing key published before the first request
    SmartAuthorizationServer as = authorizationServer;
    java.util.function.Predicate<Principal> ours =
        p -> p.issuer().filter(as.issuer().toString()::equals).isPresent();
    AccessRules access = new AccessRules(cfg.fhirContext, cfg.contexts, cfg.contextWriteScopes,
        cfg.adminScopes, cfg.clock,
        p -> ours.test(p) && p.tokenId().map(as::isRevoked).orElse(false),
        p -> ours.test(p) && p.tokenId().map(as::grantActive).orElse(false));
    AppCatalogRepository catalog = cfg.catalog;
    contextManager = ContextManager.builder(cfg.repository, cfg.contexts)
        .audit(cfg.audit).clock(cfg.clock).allowedTypes(cfg.allowedTypes)
        .timeToLive(cfg.contextTimeToLive).writeScopes(cfg.contextWriteScopes)
        .adminScopes(cfg.adminScopes).requireSameUser(cfg.requireSameUser)
        .maxEntries(cfg.maxEntries).maxContextsPerOwner(cfg.maxContextsPerOwner)
        .maxContextBytesPerOwner(cfg.maxContextBytesPerOwner)
        .appIds(catalog == null ? id -> true
            : id -> catalog.find(id).map(AppListing::isActive).orElse(false))
        .validator(cfg.validator != null ? cfg.validator
            : ResourceValidator.requiredElements(cfg.fhirContext))
        .build();
    WriteBudget budget = new WriteBudget(cfg.contexts, cfg.clock, cfg.maxSessionWriteBytes,
        cfg.maxSessionWriteResources);
    contextManager.addEndListener(c -> authorizationServer.revokeSession(c.sessionId()));
    if (cfg.subscriptions) {
      SubscriptionEngine.Builder sb = SubscriptionEngine.builder(cfg.fhirContext, cfg.contexts,
          cfg.repository, access).clock(cfg.clock).audit(cfg.audit)
          .endpointPolicy(cfg.endpointPolicy).observer(cfg.observer);
      if (cfg.subscriptionStore != null) {
        sb.store(cfg.subscriptionStore);
      }
      cfg.subscriptionCustomizers.forEach(c -> c.accept(sb));
      sb.websocketUrl(URI.create(baseUrl.toString().replaceFirst("^http", "ws")
          + "/ws/subscriptions"));
      subscriptions = sb.build();
      contextManager.addChangeListener(subscriptions::onChange);
      SubscriptionEngine engine = subscriptions;
      contextManager.addEndListener(c -> engine.onSessionEnded(c.sessionId()));
    }
    cfg.contextManagerCustomizers.forEach(c -> c.accept(contextManager));
    AccessTokenValidator validator = cfg.externalValidator == null
        ? authorizationServer.tokenValidator()
        : AccessTokenValidator.firstOf(authorizationServer.tokenValidator(), cfg.externalValidator);

    // The FHIR endpoint parses with a context of its own: strict (an element FHIR does not know
    // is a 400, not silently dropped), and without HAPI's log line per odd element, which let one
    // body write thousands of WARN lines. The shared context given to the builder is left as is.
    FhirContext serverContext = new FhirContext(cfg.fhirContext.getVersion().getVersion());
    serverContext.setParserErrorHandler(new StrictErrorHandler());
    RestfulServer fhir = new RestfulServer(serverContext) {
      private static final long serialVersionUID = 1L;

      @Override
      public void addHeadersToResponse(jakarta.servlet.http.HttpServletResponse r) {
        // no X-Powered-By banner with versions
      }
    };
    List<IResourceProvider> providers = new ArrayList<>();
    for (String type : cfg.allowedTypes.stream().sorted().toList()) {
      providers.add(new SessionResourceProvider(type, cfg.fhirContext, cfg.repository,
          cfg.contexts, contextManager, access, budget, cfg.audit, cfg.clock, cfg.maxSearchResults));
    }
    if (subscriptions != null) {
      providers.add(new SubscriptionProvider(subscriptions, cfg.fhirContext));
    }
    fhir.setResourceProviders(providers);
    fhir.registerProvider(new OperationsProvider(cfg.fhirContext, contextManager));
    fhir.registerInterceptor(new AuthInterceptor());
    fhir.registerInterceptor(new ca.halo.server.sofa.internal.QuietFailures());
    fhir.registerInterceptor(new ca.halo.server.sofa.internal.CompactOperationResponses());
    fhir.setServerAddressStrategy(new HardcodedServerAddressStrategy(fhirBase.toString()));
    fhir.setDefaultResponseEncoding(EncodingEnum.JSON);
    fhir.setServerName("HALO SoFA");
    // no paging provider: pages are served by _offset, so any node answers any page and no
    // search results are held in memory between requests
    fhir.setDefaultPageSize(SessionResourceProvider.DEFAULT_PAGE_SIZE);
    fhir.setImplementationDescription("HALO SoFA");
    fhir.setServerVersion("");

    ServletContextHandler handler = new ServletContextHandler("/");
    handler.setErrorHandler(quiet(new org.eclipse.jetty.ee10.servlet.ErrorHandler()));
    handler.addServlet(new ServletHolder("fhir", fhir), "/fhir/*");
    handler.addServlet(new ServletHolder("smart-configuration",
        new JsonServlet(authorizationServer::smartConfigurationResponse)),
        "/fhir/.well-known/smart-configuration");
    handler.addServlet(new ServletHolder("auth", new OAuthServlet(authorizationServer,
        cfg.observer)), "/auth/*");
    // the token first, so that no body of an unknown caller is read; then the body's bounds
    handler.addFilter(new FilterHolder(new BearerTokenFilter(validator, cfg.contexts, cfg.clock,
        cfg.fhirContext)), "/fhir/*", EnumSet.of(DispatcherType.REQUEST));
    handler.addFilter(new FilterHolder(new BodyLimitFilter(cfg.maxBodyBytes, cfg.maxElements,
        cfg.fhirContext)), "/fhir/*", EnumSet.of(DispatcherType.REQUEST));
    if (subscriptions != null) {
      JettyWebSocketServletContainerInitializer.configure(handler, null);
      handler.addServlet(new ServletHolder("subscriptions-ws",
          new SubscriptionWebSocketServlet(subscriptions, cfg.maxWebSockets,
              cfg.webSocketBindTimeout)), "/ws/subscriptions");
    }
    if (cfg.catalog != null) {
      handler.addServlet(new ServletHolder("catalog", new AppCatalogServlet(cfg.catalog)),
          "/catalog/*");
    }
    for (Map.Entry<String, Function<SofaServer, HttpServlet>> m : cfg.mounts.entrySet()) {
      handler.addServlet(new ServletHolder(m.getValue().apply(server)), m.getKey());
    }
    CrossOriginHandler cors = new CrossOriginHandler();
    cors.setAllowedOriginPatterns(java.util.Set.of("*"));
    cors.setAllowedMethods(java.util.Set.of("GET", "POST", "PUT", "DELETE", "OPTIONS"));
    cors.setAllowedHeaders(java.util.Set.of("Authorization", "Content-Type", "Accept",
        "Prefer", "If-Match", "If-None-Match"));
    cors.setExposedHeaders(java.util.Set.of("Location", "ETag", "Content-Location",
        "Last-Modified"));
    cors.setHandler(handler);
    // in-flight requests finish (within shutdownGrace) when the server stops
    org.eclipse.jetty.server.handler.GracefulHandler graceful =
        new org.eclipse.jetty.server.handler.GracefulHandler(cors);
    jetty.setHandler(new ca.halo.server.sofa.internal.ObservingHandler(cfg.observer,
        cfg.allowedTypes, graceful));
    jetty.setStopTimeout(cfg.shutdownGrace.toMillis());
    try {
      jetty.start();
    } catch (Exception e) {
      close();
      throw new IllegalStateException("cannot start the SoFA: " + e.getMessage(), e);
    }
    sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "halo-sofa-expiry");
      t.setDaemon(true);
      return t;
    });
    long every = cfg.expirySweepInterval.toMillis();
    sweeper.scheduleWithFixedDelay(() -> {
      try {
        contextManager.expireNow();
        authorizationServer.maintainKeys();
      } catch (RuntimeException e) {
        LOG.warn("context expiry sweep failed ({}); retrying next round",
            e.getClass().getSimpleName());
      }
    }, every, every, TimeUnit.MILLISECONDS);
    LOG.debug("SoFA started at {}", baseUrl);
  }

  /** Error pages that name no server, version, servlet or cause. */
  private static <T extends ErrorHandler> T quiet(T h) {
    h.setShowStacks(false);
    h.setShowCauses(false);
    h.setShowMessageInTitle(false);
    h.setShowOrigin(false);
    return h;
  }

  private static String hostForUrl(String host) {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  /** Whether Jetty runs (between {@link #start()} and {@link #close()}). */
  synchronized boolean serving() {
    return jetty != null;
  }

  /** Stops Jetty (in-flight requests finish within shutdownGrace), the sweeper, the engine. */
  synchronized void close() {
    // first stop taking requests and let those in flight finish (within shutdownGrace), then
    // the engine, which hands its subscription leases back so another node takes them at once
    if (jetty != null) {
      try {
        jetty.stop();
      } catch (Exception e) {
        LOG.warn("Jetty did not stop cleanly ({})", e.getClass().getSimpleName());
      }
      jetty = null;
    }
    if (sweeper != null) {
      sweeper.shutdownNow();
      sweeper = null;
    }
    if (subscriptions != null) {
      subscriptions.close();
      subscriptions = null;
    }
  }
}
