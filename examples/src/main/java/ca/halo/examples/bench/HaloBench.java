package ca.halo.examples.bench;

import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.examples.sandbox.HeadlessBrowser;
import ca.halo.examples.sandbox.Jurisdiction;
import ca.halo.examples.sandbox.SampleChart;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SetContextRequest;
import ca.halo.sofa.SetContextResult;
import ca.halo.sofa.SofaClient;
import ca.halo.subscription.NotificationConsumer;
import ca.halo.subscription.RestHookHandler;
import ca.halo.subscription.RestHookReceiver;
import ca.halo.subscription.SubscriptionClient;
import ca.halo.subscription.SubscriptionRequest;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;

/**
 * The benchmark harness (not a test): every number comes from real HTTP on loopback against the
 * embedded SoFA, with the SDK's own clients.
 *
 * <pre>
 *   mvn -B -q -Pbench -DskipTests verify                       # all
 *   mvn -B -q -Pbench -DskipTests verify -Dbench.args=set-context
 * </pre>
 *
 * <p>Parts: {@code set-context} (requests/s and p50/p99 at 1 and 8 callers with a 6-resource
 * Bundle; memory per 10k live contexts), {@code set-context-sizes} (1 caller with Bundles of 6,
 * 1,000 and 5,000 entries, and how long a concurrent read waits meanwhile), {@code token} (token endpoint requests/s and p99 for
 * authorization_code and client_credentials), {@code token-full} (client_credentials at 8 callers once
 * 100,000 tokens have been issued), {@code subscriptions} (events/s and p50/p99 from a
 * resource write to the consumer callback, 1 and 100 subscribers), {@code stores} (in-memory and
 * PostgreSQL stores side by side: $set-context at 1 and 8 callers, token endpoint, write-to-callback
 * latency, JVM heap per live context; see {@link StoreBench}).
 */
public final class HaloBench {
  private HaloBench() {}

  public static void main(String[] args) throws Exception {
    String which = args.length == 0 || args[0].isBlank() ? "all" : args[0].trim();
    System.out.println("HALO benchmark harness (" + Runtime.getRuntime().availableProcessors()
        + " cores, max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB, Java "
        + System.getProperty("java.version") + ")");
    if (which.equals("all") || which.equals("set-context")) {
      setContext();
    }
    if (which.equals("all") || which.equals("set-context-sizes")) {
      setContextSizes();
    }
    if (which.equals("all") || which.equals("token")) {
      token();
    }
    if (which.equals("all") || which.equals("token-full")) {
      tokenFull();
    }
    if (which.equals("all") || which.equals("subscriptions")) {
      subscriptions();
    }
    if (which.equals("all") || which.equals("stores")) {
      StoreBench.run();
    }
    System.exit(0);
  }

  // ------------------------------------------------------------------ helpers

  static TokenSet login(Jurisdiction j, SmartAppClient emr, HeadlessBrowser b) throws Exception {
    AuthorizationRedirect r = emr.beginStandaloneLaunch(j.sofa.fhirBase(), SmartScopes.parse(Jurisdiction.EMR_SCOPES));
    return emr.completeAuthorization(r.pending(),
        b.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD));
  }

  static SmartAppClient emrClient(Jurisdiction j, HaloHttp http) {
    return SmartAppClient.builder().http(http).clientAuthentication(ClientAuthentication
        .clientSecretBasic(Jurisdiction.EMR_CLIENT_ID, Jurisdiction.EMR_SECRET)).redirectUri(j.emrRedirect).build();
  }

  static SetContextRequest sixResources() {
    SampleChart c = new SampleChart();
    return SetContextRequest.builder().appId("growth-chart").patient(c.patient).encounter(c.encounter)
        .fhirUser(c.practitioner).addFhirContext(c.condition).addResource(c.height).addResource(c.allergy)
        .needPatientBanner(true).build();
  }

  /**
   * The harness drives everything from one signed-in clinician: the bounds a SoFA keeps per
   * caller (contexts and their bytes, what one launch may write; in the subscription part the
   * subscriptions one user may hold) are lifted so they measure the server, not the bound. The
   * per-user delivery lane stays at its default (8 in flight): 100 subscribers of one user share
   * it, which a real deployment (a subscriber per EMR user) would not.
   */
  static ca.halo.server.sofa.SofaServer.Builder oneCaller(ca.halo.server.sofa.SofaServer.Builder b) {
    return b.maxContextsPerOwner(1_000_000).maxContextBytesPerOwner(Long.MAX_VALUE)
        .maxSessionWrites(Long.MAX_VALUE, Integer.MAX_VALUE);
  }

  interface Op {
    void run() throws Exception;
  }

  /** Runs {@code total} operations on {@code callers} threads; prints rate and latency. */
  static void measure(String label, int callers, int total, Op op) throws Exception {
    Stats stats = new Stats();
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    long t0 = System.nanoTime();
    List<Future<?>> fs = new ArrayList<>();
    for (int c = 0; c < callers; c++) {
      fs.add(pool.submit(() -> {
        while (next.getAndIncrement() < total) {
          long s = System.nanoTime();
          op.run();
          stats.add(System.nanoTime() - s);
        }
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    pool.shutdown();
    System.out.printf("  %-52s %3d callers %7d req %9.1f req/s   p50 %7.2f ms   p99 %7.2f ms%n",
        label, callers, total, total / secs, stats.percentileMillis(50), stats.percentileMillis(99));
  }

  static long usedHeap() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  // ------------------------------------------------------------------ $set-context

  static void setContext() throws Exception {
    System.out.println("\n$set-context with a 6-resource Bundle (SofaClient -> SoFA over HTTP):");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> oneCaller(b).subscriptions(false).maxContexts(200_000));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, http)) {
      TokenSet t = login(j, emr, new HeadlessBrowser());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase())
          .tokens(AccessTokenProvider.fixed(t.accessToken())).build();
      measure("warm-up", 8, 3000, () -> sofa.setContext(sixResources()));
      measure("set-context", 1, 2000, () -> sofa.setContext(sixResources()));
      measure("set-context", 8, 8000, () -> sofa.setContext(sixResources()));
    }
    System.out.println("\n$set-context with HAPI's instance validator (FhirInstanceResourceValidator):");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> oneCaller(b).subscriptions(false).maxContexts(200_000)
            .validator(new ca.halo.server.sofa.FhirInstanceResourceValidator(
                ca.uhn.fhir.context.FhirContext.forR4Cached())));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, http)) {
      TokenSet t = login(j, emr, new HeadlessBrowser());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase())
          .tokens(AccessTokenProvider.fixed(t.accessToken())).build();
      measure("warm-up", 8, 500, () -> sofa.setContext(sixResources()));
      measure("set-context + instance validation", 1, 500, () -> sofa.setContext(sixResources()));
      measure("set-context + instance validation", 8, 2000, () -> sofa.setContext(sixResources()));
    }
    System.out.println("\nMemory per 10,000 live contexts (6 resources each, in-memory stores):");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> oneCaller(b).subscriptions(false));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, http)) {
      TokenSet t = login(j, emr, new HeadlessBrowser());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase())
          .tokens(AccessTokenProvider.fixed(t.accessToken())).build();
      for (int i = 0; i < 200; i++) {
        sofa.clearContext(sofa.setContext(sixResources()).launchId());
      }
      long before = usedHeap();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<SetContextResult>> fs = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        fs.add(pool.submit(() -> sofa.setContext(sixResources())));
      }
      for (Future<SetContextResult> f : fs) {
        f.get();
      }
      fs.clear(); // the client's results are not the server's memory
      pool.shutdown();
      long after = usedHeap();
      if (System.getenv("BENCH_HISTOGRAM") != null) {
        System.out.println("  (pausing 20 s for a heap histogram: jcmd <pid> GC.class_histogram)");
        Thread.sleep(20_000);
      }
      System.out.printf("  %d contexts, %d resources: heap +%.1f MiB = %.1f KiB per context%n",
          j.sofa.contexts().size(), 6 * j.sofa.contexts().size(), (after - before) / 1048576.0,
          (after - before) / 1024.0 / 10_000);
    }
  }

  /** A context with {@code entries} resources: patient, encounter, practitioner, observations. */
  static SetContextRequest entries(int entries) {
    SampleChart c = new SampleChart();
    SetContextRequest.Builder b = SetContextRequest.builder().appId("growth-chart").patient(c.patient)
        .encounter(c.encounter).fhirUser(c.practitioner);
    for (int i = 0; i < entries - 3; i++) {
      Observation o = c.height.copy();
      o.setId("emr-obs-" + i);
      o.getValueQuantity().setValue(100 + i % 50);
      b.addResource(o);
    }
    return b.build();
  }

  static void setContextSizes() throws Exception {
    System.out.println("\n$set-context by Bundle size, 1 caller (SofaClient -> SoFA over HTTP), and a"
        + " concurrent FHIR read's latency meanwhile:");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> oneCaller(b).subscriptions(false)
            .maxContexts(200_000).maxBodyBytes(64L << 20).maxEntries(10_000).maxElements(20_000_000));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, http)) {
      TokenSet t = login(j, emr, new HeadlessBrowser());
      AccessTokenProvider tokens = AccessTokenProvider.fixed(t.accessToken());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase()).tokens(tokens).build();
      IGenericClient reader = ca.halo.core.fhir.FhirClients.genericClient(j.sofa.fhirContext(),
          j.sofa.fhirBase(), http, tokens);
      SetContextResult seed = sofa.setContext(sixResources());
      String patient = seed.idMap().get("Patient/emr-pat-1001").id();
      measure("warm-up", 4, 2000, () -> sofa.setContext(sixResources()));
      for (int n : new int[] {6, 1000, 5000}) {
        SetContextRequest req = n == 6 ? sixResources() : entries(n);
        int total = n == 6 ? 2000 : n == 1000 ? 40 : 8;
        measure("warm-up " + n, 1, Math.max(2, total / 4), () -> sofa.clearContext(sofa.setContext(req).launchId()));
        Stats reads = new Stats();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread r = new Thread(() -> {
          while (running.get()) {
            long s = System.nanoTime();
            reader.read().resource(org.hl7.fhir.r4.model.Patient.class).withId(patient).execute();
            reads.add(System.nanoTime() - s);
          }
        });
        r.start();
        measure("set-context, " + n + " entries", 1, total,
            () -> sofa.clearContext(sofa.setContext(req).launchId()));
        running.set(false);
        r.join();
        System.out.printf("  %-52s concurrent read p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms%n", "",
            reads.percentileMillis(50), reads.percentileMillis(99), reads.percentileMillis(100));
      }
    }
  }

  // ------------------------------------------------------------------ token endpoint

  static void token() throws Exception {
    System.out.println("\nToken endpoint (POST /auth/token over HTTP, JDK client, keep-alive):");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> b.subscriptions(false))) {
      HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
          .cookieHandler(new java.net.CookieManager()).build();
      URI token = j.sofa.authorizationServer().tokenEndpoint();
      // authorization_code: codes are minted first (authorize with the SSO cookie), then redeemed
      HeadlessBrowser sso = new HeadlessBrowser();
      String basic = "Basic " + Base64.getEncoder().encodeToString(
          (Jurisdiction.EMR_CLIENT_ID + ":" + Jurisdiction.EMR_SECRET).getBytes());
      try (HaloHttp h = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, h)) {
        login(j, emr, sso); // establishes the SSO session
        for (int round = 0; round < 2; round++) {
          int n = round == 0 ? 1000 : 4000;
          List<String[]> codes = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            AuthorizationRedirect r = emr.beginStandaloneLaunch(j.sofa.fhirBase(), SmartScopes.parse("openid user/*.rs"));
            URI back = sso.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
            String code = back.getQuery().replaceAll(".*code=([^&]+).*", "$1");
            codes.add(new String[] {code, r.pending().toJson()});
          }
          AtomicInteger idx = new AtomicInteger();
          measure(round == 0 ? "warm-up" : "authorization_code (+PKCE, id_token)", 8, n, () -> {
            String[] c = codes.get(idx.getAndIncrement());
            String verifier = c[1].replaceAll(".*\"code_verifier\":\"([^\"]+)\".*", "$1");
            form(http, token, basic, "grant_type=authorization_code&code=" + c[0]
                + "&redirect_uri=" + enc(j.emrRedirect.toString()) + "&code_verifier=" + verifier);
          });
        }
      }
      // client_credentials with client_secret_basic and with private_key_jwt (ES384)
      var key = new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_384)
          .keyID("bench").algorithm(com.nimbusds.jose.JWSAlgorithm.ES384).generate();
      registerBackend(j, key);
      String backendBasic = "Basic " + Base64.getEncoder().encodeToString("bench-basic:bench-basic-secret-000".getBytes());
      measure("warm-up", 8, 2000, () -> form(http, token, backendBasic, "grant_type=client_credentials&scope=system/*.rs"));
      measure("client_credentials (client_secret_basic)", 8, 8000,
          () -> form(http, token, backendBasic, "grant_type=client_credentials&scope=system/*.rs"));
      try (SmartAppClient backend = SmartAppClient.builder().clientAuthentication(
          ClientAuthentication.privateKeyJwtFromJwk("bench-jwt", key.toJSONString())).build()) {
        measure("warm-up", 8, 1000, () -> backend.clientCredentials(j.sofa.fhirBase(), SmartScopes.parse("system/*.rs")));
        measure("client_credentials (private_key_jwt ES384, SDK client)", 8, 4000,
            () -> backend.clientCredentials(j.sofa.fhirBase(), SmartScopes.parse("system/*.rs")));
      }
    }
  }

  /**
   * client_credentials once 100,000 tokens have been issued within their lifetime (a province's
   * morning): whatever the server keeps per issued token must not make the next issue slower.
   */
  static void tokenFull() throws Exception {
    System.out.println("\nToken endpoint after 100,000 client_credentials tokens issued (client_secret_basic):");
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> b.subscriptions(false))) {
      HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
      URI token = j.sofa.authorizationServer().tokenEndpoint();
      var key = new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_384)
          .keyID("bench").algorithm(com.nimbusds.jose.JWSAlgorithm.ES384).generate();
      registerBackend(j, key);
      String basic = "Basic " + Base64.getEncoder().encodeToString("bench-basic:bench-basic-secret-000".getBytes());
      String body = "grant_type=client_credentials&scope=system/*.rs";
      measure("warm-up (empty server)", 8, 2000, () -> form(http, token, basic, body));
      measure("client_credentials, first 8,000", 8, 8000, () -> form(http, token, basic, body));
      measure("filling to 100,000 issued", 8, 90_000, () -> form(http, token, basic, body));
      measure("client_credentials, after 100,000 issued", 8, 8000, () -> form(http, token, basic, body));
    }
  }

  static void registerBackend(Jurisdiction j, com.nimbusds.jose.jwk.ECKey key) {
    InMemoryClientRegistry reg = j.clients;
    reg.register(RegisteredClient.builder("bench-basic").type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC)
        .secret("bench-basic-secret-000").allowedScopes(SmartScopes.parse("system/*.rs")).build());
    reg.register(RegisteredClient.builder("bench-jwt").type(RegisteredClient.Type.CONFIDENTIAL_ASYMMETRIC)
        .jwksJson(new com.nimbusds.jose.jwk.JWKSet(key.toPublicJWK()).toString())
        .allowedScopes(SmartScopes.parse("system/*.rs")).build());
  }

  static void form(HttpClient http, URI uri, String auth, String body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).header("Authorization", auth)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("token endpoint answered " + r.statusCode() + ": " + r.body());
    }
  }

  static String enc(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ subscriptions

  static void subscriptions() throws Exception {
    System.out.println("\nSubscriptions: app write (FHIR create) -> rest-hook -> consumer callback:");
    for (int subscribers : new int[] {1, 100}) {
      try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, b -> oneCaller(b).subscriptionSettings(s -> s.threads(8)
          .maxSubscriptionsPerOwner(1_000).maxDeliveriesPerOwner(8)));
          HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = emrClient(j, http)) {
        HeadlessBrowser browser = new HeadlessBrowser();
        TokenSet t = login(j, emr, browser);
        AccessTokenProvider tokens = AccessTokenProvider.fixed(t.accessToken());
        SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase()).tokens(tokens).build();
        SetContextResult ctx = sofa.setContext(sixResources());
        SubscriptionClient subs = SubscriptionClient.builder().http(http).fhirBase(j.sofa.fhirBase()).tokens(tokens).build();
        Map<String, Long> writtenAt = new ConcurrentHashMap<>();
        Map<String, List<Long>> calledAt = new ConcurrentHashMap<>();
        int writes = subscribers == 1 ? 2000 : 200;
        CountDownLatch done = new CountDownLatch(writes * subscribers);
        NotificationConsumer consumer = NotificationConsumer.builder(subs, (id, e) -> {
          calledAt.computeIfAbsent(e.focus().orElse(""),
              k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(System.nanoTime());
          done.countDown();
        }).build();
        try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook",
            RestHookHandler.builder(consumer).build(), 16)) {
          List<String> ids = new ArrayList<>();
          for (int i = 0; i < subscribers; i++) {
            ids.add(subs.create(SubscriptionRequest.restHook(r.url()).launch(ctx.launchId())
                .payload(PayloadContent.ID_ONLY).build()).getIdPart());
          }
          for (String id : ids) {
            subs.awaitActive(id, java.time.Duration.ofSeconds(30));
          }
          // the app's write path: a launch token, FHIR creates
          AppWriter app = AppWriter.launch(j, http, browser, ctx.launchId());
          long t0 = System.nanoTime();
          ExecutorService writers = app.writeWeights(writes, 4, writtenAt);
          boolean all = done.await(300, TimeUnit.SECONDS);
          double secs = (System.nanoTime() - t0) / 1e9;
          writers.shutdown();
          writers.awaitTermination(10, TimeUnit.SECONDS);
          Stats lat = new Stats();
          calledAt.forEach((focus, times) -> {
            Long w = writtenAt.get(focus);
            if (w != null) {
              synchronized (times) {
                times.forEach(c -> lat.add(c - w));
              }
            }
          });
          System.out.printf("  %3d subscriber(s) %5d writes %7d callbacks %s %9.1f events/s   p50 %7.2f ms   p99 %7.2f ms%n",
              subscribers, writes, writes * subscribers - done.getCount(), all ? "(all)" : "(TIMED OUT)",
              (writes * subscribers - done.getCount()) / secs, lat.percentileMillis(50), lat.percentileMillis(99));
          app.close();
        }
        subs.close();
        sofa.close();
      }
    }
  }

  /** The sample app launched into a context, writing body weights as fast as it can. */
  static final class AppWriter implements AutoCloseable {
    private final SmartAppClient client;
    private final IGenericClient fhir;
    private final String patient;

    private AppWriter(SmartAppClient client, IGenericClient fhir, String patient) {
      this.client = client;
      this.fhir = fhir;
      this.patient = patient;
    }

    @Override
    public void close() {
      client.close();
    }

    /** The app's launch (authorize and token through the clinician's browser). */
    static AppWriter launch(Jurisdiction j, HaloHttp http, HeadlessBrowser browser, String launchId)
        throws Exception {
      SmartAppClient app = SmartAppClient.builder().http(http)
          .clientAuthentication(ClientAuthentication.publicClient("growth-chart"))
          .redirectUri(URI.create(j.sofa.baseUrl() + "/apps/growth-chart/callback")).build();
      AuthorizationRedirect ar = app.beginEhrLaunch(j.sofa.fhirBase(), launchId,
          SmartScopes.parse("launch patient/*.rs patient/Observation.c"));
      TokenSet at = app.completeAuthorization(ar.pending(),
          browser.authorize(ar.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD));
      IGenericClient fhir = ca.halo.core.fhir.FhirClients.genericClient(j.sofa.fhirContext(),
          j.sofa.fhirBase(), http, AccessTokenProvider.fixed(at.accessToken()));
      return new AppWriter(app, fhir, at.launchContext().patient().orElseThrow());
    }

    /**
     * Starts {@code writes} Observation creates on {@code threads} threads, each noting when it
     * was sent under its reference in {@code writtenAt}; the caller shuts the pool down.
     */
    ExecutorService writeWeights(int writes, int threads, Map<String, Long> writtenAt) {
      ExecutorService writers = Executors.newFixedThreadPool(threads);
      for (int i = 0; i < writes; i++) {
        writers.execute(() -> {
          Observation o = new Observation();
          o.setStatus(Observation.ObservationStatus.FINAL);
          o.setCode(new CodeableConcept(new Coding("http://loinc.org", "29463-7", "Body weight")));
          o.setSubject(new Reference("Patient/" + patient));
          long sent = System.nanoTime();
          String id = fhir.create().resource(o).execute().getId().getIdPart();
          writtenAt.putIfAbsent("Observation/" + id, sent);
        });
      }
      return writers;
    }
  }
}
