package ca.halo.conformance.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands between the kit's SoFA and the EMR's rest-hook endpoints, to make a gap: the first
 * event notification is answered 200 to the SoFA but never reaches the EMR; everything else is
 * passed on with its headers, and the EMR's status goes back to the SoFA.
 *
 * <p>Not an open relay: each route has an unguessable id and its own secret, which the kit adds
 * to the Subscription's channel headers on the way in, so only the SoFA holding that
 * Subscription can post to it; the secret is taken off before forwarding. Routes lead only to
 * http(s) endpoints, at most {@value #MAX_ROUTES}.
 */
public final class HookRelay implements AutoCloseable {
  /** The header the kit adds to each rerouted Subscription's channel. */
  public static final String SECRET_HEADER = "X-Halo-Kit-Relay";
  private static final int MAX = 4 << 20;
  private static final int MAX_ROUTES = 100;

  /** One rerouted endpoint. */
  private static final class Route {
    final URI to;
    final String secret = Pkce.random(24);
    volatile String subscription;

    Route(URI to) {
      this.to = to;
    }
  }

  private final HttpServer server;
  private final ExecutorService pool = Executors.newFixedThreadPool(8, r -> {
    Thread t = new Thread(r, "kit-relay");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final AtomicBoolean dropped = new AtomicBoolean();
  private final CountDownLatch droppedLatch = new CountDownLatch(1);
  private volatile Instant droppedAt;
  private volatile String droppedSubscription;
  private final AtomicInteger forwardedEvents = new AtomicInteger();
  private volatile int handshakeStatus = -1;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .followRedirects(HttpClient.Redirect.NEVER).build();
  private final String host;

  public HookRelay(String host) throws IOException {
    this.host = host;
    server = HttpServer.create(new InetSocketAddress(host, 0), 32);
    server.setExecutor(pool);
    server.createContext("/relay/", ex -> {
      try (ex) {
        Route route = routes.get(ex.getRequestURI().getPath().substring("/relay/".length()));
        String presented = ex.getRequestHeaders().getFirst(SECRET_HEADER);
        if (route == null || presented == null || !MessageDigest.isEqual(
            presented.getBytes(StandardCharsets.UTF_8), route.secret.getBytes(StandardCharsets.UTF_8))) {
          ex.sendResponseHeaders(404, -1); // before reading anything
          return;
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
          body = in.readNBytes(MAX + 1);
        }
        if (body.length > MAX) {
          ex.sendResponseHeaders(413, -1);
          return;
        }
        Optional<Fhir.Status> status = parse(body);
        String type = status.map(s -> s.type).orElse("");
        status.map(s -> s.subscription).filter(x -> !x.isEmpty()).ifPresent(x -> route.subscription = x);
        boolean event = type.equals("event-notification");
        if (event && status.get().events.containsKey(1L) && dropped.compareAndSet(false, true)) {
          droppedAt = Instant.now();
          droppedSubscription = route.subscription;
          droppedLatch.countDown();
          ex.sendResponseHeaders(200, -1); // the gap: the SoFA believes it delivered
          return;
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(route.to).timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
          String n = h.getKey().toLowerCase(Locale.ROOT);
          if (!n.equals(SECRET_HEADER.toLowerCase(Locale.ROOT))
              && (n.equals("authorization") || n.equals("content-type") || n.startsWith("x-"))) {
            for (String v : h.getValue()) {
              b.header(h.getKey(), v);
            }
          }
        }
        int answered;
        try {
          answered = client.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
          answered = 502;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          answered = 503;
        }
        if (type.equals("handshake")) {
          handshakeStatus = answered;
        }
        if (event && answered / 100 == 2) {
          forwardedEvents.incrementAndGet();
        }
        ex.sendResponseHeaders(answered, -1);
      }
    });
    server.start();
  }

  private static Optional<Fhir.Status> parse(byte[] body) {
    try {
      JsonNode n = Http.JSON.readTree(body);
      return n == null ? Optional.empty() : Optional.of(Fhir.status(n));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * A route standing for {@code endpoint}: its relay URL and the secret header value the
   * Subscription must carry, or empty when the endpoint is not http(s) or the routes are used up.
   */
  public Optional<String[]> route(URI endpoint) {
    String scheme = String.valueOf(endpoint.getScheme()).toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || endpoint.getHost() == null || routes.size() >= MAX_ROUTES) {
      return Optional.empty();
    }
    String id = Pkce.random(16);
    Route r = new Route(endpoint);
    routes.put(id, r);
    String h = host.contains(":") ? "[" + host + "]" : host;
    return Optional.of(new String[] {"http://" + h + ":" + server.getAddress().getPort() + "/relay/" + id, r.secret});
  }

  public boolean anyRoute() {
    return !routes.isEmpty();
  }

  /** Waits until the first event notification has been held back. */
  public boolean awaitDropped(Duration d) throws InterruptedException {
    return droppedLatch.await(d.toMillis(), TimeUnit.MILLISECONDS);
  }

  public boolean dropped() {
    return dropped.get();
  }

  /** When the first event was held back, if it was. */
  public Optional<Instant> droppedAt() {
    return Optional.ofNullable(droppedAt);
  }

  /** The Subscription (reference) whose first event was held back, if known. */
  public Optional<String> droppedSubscription() {
    return Optional.ofNullable(droppedSubscription);
  }

  /** What the EMR answered to the handshake, or -1 when none was relayed. */
  public int handshakeStatus() {
    return handshakeStatus;
  }

  public int forwardedEvents() {
    return forwardedEvents.get();
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
