package ca.halo.sofaserver.internal;

import ca.halo.server.observe.SofaObserver;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.SubscriptionEngine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The SoFA's metrics in Prometheus form: requests by route, method and status with latency
 * histograms; token requests by grant type and outcome; notifications by channel and outcome
 * with their lag; live contexts; subscriptions by status; delivery queue depth and deliveries in
 * flight; database pool connections; JVM and process. Labels are route templates and fixed
 * words, never ids, tokens or patient data.
 */
public final class SofaMetrics implements SofaObserver {
  private static final List<String> STATUSES = List.of("requested", "active", "error", "off");
  private static final List<String> POOL_STATES = List.of("active", "idle", "pending", "total");
  /** Database-backed gauges are read at most this often, however often Prometheus scrapes. */
  private static final Duration CACHE = Duration.ofSeconds(5);
  /** Latency histogram buckets: a dozen, not Micrometer's ~70 per series. */
  private static final Duration[] BUCKETS = {Duration.ofMillis(5), Duration.ofMillis(10),
      Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
      Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public SofaMetrics() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** Adds the gauges that read the running server (and its database, when there is one). */
  public void watch(SofaServer sofa, Optional<PostgresDatabase> database) {
    Supplier<Integer> contexts = cached(() -> sofa.contexts().size(), 0);
    Gauge.builder("halo.contexts.live", () -> contexts.get())
        .description("launch contexts held (expired ones until the next sweep)")
        .register(registry);
    SubscriptionEngine engine = subscriptionsOf(sofa);
    if (engine != null) {
      Supplier<Map<String, Integer>> byStatus = cached(engine::countByStatus, Map.of());
      for (String s : STATUSES) {
        Gauge.builder("halo.subscriptions", () -> byStatus.get().getOrDefault(s, 0))
            .tag("status", s).description("subscriptions by status").register(registry);
      }
      Gauge.builder("halo.delivery.queue.depth", engine::deliveriesQueued)
          .description("deliveries waiting for a place in their subscriber's lane on this node")
          .register(registry);
      Gauge.builder("halo.delivery.in.flight", engine::deliveriesInFlight)
          .description("subscriptions this node is working on").register(registry);
    }
    database.ifPresent(db -> {
      for (String s : POOL_STATES) {
        Gauge.builder("halo.db.pool.connections", () -> db.poolConnections().getOrDefault(s, 0))
            .tag("state", s).description("database pool connections by state")
            .register(registry);
      }
    });
  }

  private static SubscriptionEngine subscriptionsOf(SofaServer sofa) {
    try {
      return sofa.subscriptions();
    } catch (IllegalStateException e) {
      return null; // subscriptions are off
    }
  }

  @Override
  public void request(String method, String route, int status, Duration time) {
    Timer.builder("halo.http.server.requests").tag("method", method).tag("route", route)
        .tag("status", Integer.toString(status)).serviceLevelObjectives(BUCKETS)
        .description("HTTP requests answered").register(registry).record(time);
  }

  @Override
  public void tokenRequest(String grantType, String outcome) {
    Counter.builder("halo.token.requests").tag("grant_type", grantType).tag("outcome", outcome)
        .description("token endpoint requests by grant type and outcome").register(registry)
        .increment();
  }

  @Override
  public void notification(String channel, boolean delivered, Duration lag) {
    Timer.builder("halo.notifications").tag("channel", channel)
        .tag("outcome", delivered ? "delivered" : "failed").serviceLevelObjectives(BUCKETS)
        .description("event notifications sent, timed from the oldest event's numbering")
        .register(registry).record(lag);
  }

  /** The Prometheus text of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  /** {@code GET /metrics}. */
  public HttpServlet servlet() {
    return new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
        resp.setStatus(200);
        resp.setContentType("text/plain; version=0.0.4; charset=utf-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
      }
    };
  }

  private static <T> Supplier<T> cached(Supplier<T> source, T initial) {
    return new Supplier<>() {
      private T value = initial;
      private long readAt;

      @Override
      public synchronized T get() {
        long now = System.nanoTime();
        if (readAt == 0 || now - readAt > CACHE.toNanos()) {
          try {
            value = source.get();
            readAt = now;
          } catch (RuntimeException e) {
            // keeps the last value: a scrape never fails on a store
          }
        }
        return value;
      }
    };
  }
}
