package ca.halo.examples.bench;

import ca.halo.core.SmartScopes;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.examples.sandbox.HeadlessBrowser;
import ca.halo.examples.sandbox.Jurisdiction;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import ca.halo.server.sofa.SofaServer;
import ca.halo.sof.AuthorizationRedirect;
import ca.halo.sof.ClientAuthentication;
import ca.halo.sof.SmartAppClient;
import ca.halo.sof.TokenSet;
import ca.halo.sofa.SetContextResult;
import ca.halo.sofa.SofaClient;
import ca.halo.subscription.NotificationConsumer;
import ca.halo.subscription.RestHookHandler;
import ca.halo.subscription.RestHookReceiver;
import ca.halo.subscription.SubscriptionClient;
import ca.halo.subscription.SubscriptionRequest;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.sql.Connection;
import java.sql.Statement;
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
import java.util.function.Consumer;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;

/**
 * The {@code stores} part: the same SoFA on the in-memory stores and on the PostgreSQL stores,
 * side by side in one run. {@code $set-context} (6 resources) at 1 and 8 callers, the token
 * endpoint at 8 callers, the latency from an app's write to the EMR's rest-hook callback, and the
 * JVM heap per 10,000 live contexts. PostgreSQL is an embedded server (io.zonky) started here with
 * durable settings ({@code fsync} and {@code synchronous_commit} on), or the database of the
 * {@code BENCH_JDBC_URL} environment variable.
 */
final class StoreBench {
  private StoreBench() {}

  /** A store under test: how each jurisdiction of the run gets it. */
  private interface Store extends AutoCloseable {
    String name();

    /** A fresh, empty set of stores for one jurisdiction. */
    Consumer<SofaServer.Builder> fresh();

    @Override
    void close();
  }

  private static final class Memory implements Store {
    public String name() { return "in-memory"; }
    public Consumer<SofaServer.Builder> fresh() { return b -> { }; }
    public void close() { }
  }

  private static final class Postgres implements Store {
    private final EmbeddedPostgres embedded;
    private final String url;
    private final List<AutoCloseable> open = new ArrayList<>();
    private int databases;

    Postgres() throws Exception {
      String given = System.getenv("BENCH_JDBC_URL");
      if (given != null) {
        embedded = null;
        url = given;
      } else {
        String durable = System.getenv("BENCH_PG_NOSYNC") != null ? "off" : "on";
        embedded = EmbeddedPostgres.builder().setServerConfig("fsync", durable)
            .setServerConfig("synchronous_commit", durable).setServerConfig("full_page_writes", durable)
            .start();
        url = null;
      }
    }

    public String name() { return "PostgreSQL"; }

    public Consumer<SofaServer.Builder> fresh() {
      String jdbc = url;
      if (embedded != null) {
        String db = "bench_" + (++databases);
        try (Connection c = embedded.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
          s.execute("CREATE DATABASE " + db);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        jdbc = embedded.getJdbcUrl("postgres", db);
      }
      PostgresDatabase database = PostgresDatabase.builder(jdbc).maxPoolSize(16).build();
      PostgresStores stores = PostgresStores.builder(database).build();
      open.add(0, database);
      open.add(0, stores);
      return stores::applyTo;
    }

    public void close() {
      for (AutoCloseable c : open) {
        try {
          c.close();
        } catch (Exception e) {
          // closing anyway
        }
      }
      if (embedded != null) {
        try {
          embedded.close();
        } catch (Exception e) {
          // closing anyway
        }
      }
    }
  }

  static void run() throws Exception {
    System.out.println("\nStores side by side: in-memory vs PostgreSQL"
        + (System.getenv("BENCH_JDBC_URL") != null ? " (BENCH_JDBC_URL)"
            : " (embedded PostgreSQL 17, fsync and synchronous_commit on, same machine)") + ":");
    try (Store memory = new Memory(); Store postgres = new Postgres()) {
      for (Store s : List.of(memory, postgres)) {
        setContext(s);
      }
      if (System.getenv("BENCH_STORES_QUICK") != null) {
        return;
      }
      for (Store s : List.of(memory, postgres)) {
        token(s);
      }
      for (Store s : List.of(memory, postgres)) {
        notificationLatency(s);
      }
      for (Store s : List.of(memory, postgres)) {
        heapPerContext(s);
      }
    }
  }

  private static Jurisdiction jurisdiction(Store s, Consumer<SofaServer.Builder> more) {
    Consumer<SofaServer.Builder> stores = s.fresh();
    return new Jurisdiction("127.0.0.1", 0, b -> {
      stores.accept(b);
      more.accept(b);
    });
  }

  private static void setContext(Store s) throws Exception {
    try (Jurisdiction j = jurisdiction(s, b -> HaloBench.oneCaller(b).subscriptions(false).maxContexts(200_000));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = HaloBench.emrClient(j, http)) {
      TokenSet t = HaloBench.login(j, emr, new HeadlessBrowser());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase())
          .tokens(AccessTokenProvider.fixed(t.accessToken())).build();
      HaloBench.measure("warm-up", 8, 2000, () -> sofa.setContext(HaloBench.sixResources()));
      HaloBench.measure("set-context, " + s.name(), 1, 1500, () -> sofa.setContext(HaloBench.sixResources()));
      HaloBench.measure("set-context, " + s.name(), 8, 6000, () -> sofa.setContext(HaloBench.sixResources()));
    }
  }

  private static void token(Store s) throws Exception {
    try (Jurisdiction j = jurisdiction(s, b -> b.subscriptions(false))) {
      HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
      URI token = j.sofa.authorizationServer().tokenEndpoint();
      var key = new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_384)
          .keyID("bench").algorithm(com.nimbusds.jose.JWSAlgorithm.ES384).generate();
      HaloBench.registerBackend(j, key);
      String basic = "Basic " + Base64.getEncoder().encodeToString("bench-basic:bench-basic-secret-000".getBytes());
      String body = "grant_type=client_credentials&scope=system/*.rs";
      HaloBench.measure("warm-up", 8, 2000, () -> HaloBench.form(http, token, basic, body));
      HaloBench.measure("token (client_credentials), " + s.name(), 8, 6000,
          () -> HaloBench.form(http, token, basic, body));
      // authorization_code: codes minted first through the SSO session, then redeemed at 8 callers
      HeadlessBrowser sso = new HeadlessBrowser();
      String emrBasic = "Basic " + Base64.getEncoder().encodeToString(
          (Jurisdiction.EMR_CLIENT_ID + ":" + Jurisdiction.EMR_SECRET).getBytes());
      try (HaloHttp h = HaloHttp.defaults(); SmartAppClient emr = HaloBench.emrClient(j, h)) {
        HaloBench.login(j, emr, sso);
        List<String[]> codes = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
          AuthorizationRedirect r = emr.beginStandaloneLaunch(j.sofa.fhirBase(), SmartScopes.parse("openid user/*.rs"));
          URI back = sso.authorize(r.uri(), Jurisdiction.CLINICIAN, Jurisdiction.CLINICIAN_PASSWORD);
          codes.add(new String[] {back.getQuery().replaceAll(".*code=([^&]+).*", "$1"), r.pending().toJson()});
        }
        java.util.concurrent.atomic.AtomicInteger idx = new java.util.concurrent.atomic.AtomicInteger();
        HaloBench.measure("token (authorization_code + PKCE), " + s.name(), 8, codes.size(), () -> {
          String[] c = codes.get(idx.getAndIncrement());
          String verifier = c[1].replaceAll(".*\"code_verifier\":\"([^\"]+)\".*", "$1");
          HaloBench.form(http, token, emrBasic, "grant_type=authorization_code&code=" + c[0]
              + "&redirect_uri=" + HaloBench.enc(j.emrRedirect.toString()) + "&code_verifier=" + verifier);
        });
      }
    }
  }

  private static void notificationLatency(Store s) throws Exception {
    try (Jurisdiction j = jurisdiction(s, b -> HaloBench.oneCaller(b).subscriptionSettings(x -> x.threads(8)));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = HaloBench.emrClient(j, http)) {
      HeadlessBrowser browser = new HeadlessBrowser();
      TokenSet t = HaloBench.login(j, emr, browser);
      AccessTokenProvider tokens = AccessTokenProvider.fixed(t.accessToken());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase()).tokens(tokens).build();
      SetContextResult ctx = sofa.setContext(HaloBench.sixResources());
      SubscriptionClient subs = SubscriptionClient.builder().http(http).fhirBase(j.sofa.fhirBase()).tokens(tokens).build();
      Map<String, Long> writtenAt = new ConcurrentHashMap<>();
      Map<String, Long> calledAt = new ConcurrentHashMap<>();
      int writes = 1000;
      CountDownLatch done = new CountDownLatch(writes);
      NotificationConsumer consumer = NotificationConsumer.builder(subs, (id, e) -> {
        calledAt.putIfAbsent(e.focus().orElse(""), System.nanoTime());
        done.countDown();
      }).build();
      try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook",
          RestHookHandler.builder(consumer).build(), 16)) {
        String id = subs.create(SubscriptionRequest.restHook(r.url()).launch(ctx.launchId())
            .payload(PayloadContent.ID_ONLY).build()).getIdPart();
        subs.awaitActive(id, java.time.Duration.ofSeconds(30));
        HaloBench.AppWriter app = HaloBench.AppWriter.launch(j, http, browser, ctx.launchId());
        long t0 = System.nanoTime();
        ExecutorService writers = app.writeWeights(writes, 2, writtenAt);
        boolean all = done.await(300, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - t0) / 1e9;
        writers.shutdown();
        writers.awaitTermination(10, TimeUnit.SECONDS);
        Stats lat = new Stats();
        calledAt.forEach((focus, c) -> {
          Long w = writtenAt.get(focus);
          if (w != null) {
            lat.add(c - w);
          }
        });
        System.out.printf("  %-52s %5d writes %s %8.1f events/s   p50 %7.2f ms   p99 %7.2f ms%n",
            "write -> rest-hook callback, " + s.name(), writes, all ? "(all)" : "(TIMED OUT)",
            (writes - done.getCount()) / secs, lat.percentileMillis(50), lat.percentileMillis(99));
        app.close();
      }
      subs.close();
      sofa.close();
    }
  }

  private static void heapPerContext(Store s) throws Exception {
    try (Jurisdiction j = jurisdiction(s, b -> HaloBench.oneCaller(b).subscriptions(false).maxContexts(200_000));
        HaloHttp http = HaloHttp.defaults(); SmartAppClient emr = HaloBench.emrClient(j, http)) {
      TokenSet t = HaloBench.login(j, emr, new HeadlessBrowser());
      SofaClient sofa = SofaClient.builder().http(http).fhirBase(j.sofa.fhirBase())
          .tokens(AccessTokenProvider.fixed(t.accessToken())).build();
      for (int i = 0; i < 500; i++) {
        sofa.setContext(HaloBench.sixResources());
      }
      long before = HaloBench.usedHeap();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<SetContextResult>> fs = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        fs.add(pool.submit(() -> sofa.setContext(HaloBench.sixResources())));
      }
      for (Future<SetContextResult> f : fs) {
        f.get();
      }
      fs.clear();
      pool.shutdown();
      long after = HaloBench.usedHeap();
      System.out.printf("  %-52s heap +%.1f MiB for 10,000 more live contexts = %.2f KiB per context%n",
          "JVM heap, " + s.name(), (after - before) / 1048576.0, (after - before) / 1024.0 / 10_000);
    }
  }
}
