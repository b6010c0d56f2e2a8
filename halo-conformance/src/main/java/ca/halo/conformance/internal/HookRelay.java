package ca.halo.conformance.internal;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands between the kit's SoFA and the EMR's rest-hook endpoints, to make a gap: the first
 * event notification is answered 200 to the SoFA but never reaches the EMR; everything else is
 * passed on with its headers, and the EMR's status goes back to the SoFA.
 */
public final class HookRelay implements AutoCloseable {
  private static final int MAX = 4 << 20;
  private final HttpServer server;
  private final Map<Integer, URI> routes = new ConcurrentHashMap<>();
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicBoolean dropped = new AtomicBoolean();
  private final CountDownLatch droppedLatch = new CountDownLatch(1);
  private final AtomicInteger forwardedEvents = new AtomicInteger();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .followRedirects(HttpClient.Redirect.NEVER).build();
  private final String host;
  private volatile int handshakeStatus = -1;

  public HookRelay(String host) throws IOException {
    this.host = host;
    server = HttpServer.create(new InetSocketAddress(host, 0), 32);
    server.createContext("/relay/", ex -> {
      try (ex) {
        int id;
        try {
          id = Integer.parseInt(ex.getRequestURI().getPath().substring("/relay/".length()));
        } catch (RuntimeException e) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        URI to = routes.get(id);
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
          body = in.readNBytes(MAX + 1);
        }
        if (to == null || body.length > MAX) {
          ex.sendResponseHeaders(to == null ? 404 : 413, -1);
          return;
        }
        String text = new String(body, java.nio.charset.StandardCharsets.UTF_8);
        boolean event = text.contains("event-notification");
        if (event && !dropped.get() && text.contains("\"event-number\"") && dropped.compareAndSet(false, true)) {
          droppedLatch.countDown();
          ex.sendResponseHeaders(200, -1); // the gap: the SoFA believes it delivered
          return;
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(to).timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
          String n = h.getKey().toLowerCase(Locale.ROOT);
          if (n.equals("authorization") || n.equals("content-type") || n.startsWith("x-")) {
            for (String v : h.getValue()) {
              b.header(h.getKey(), v);
            }
          }
        }
        int status;
        try {
          status = client.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
          status = 502;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          status = 503;
        }
        if (!event && text.contains("\"handshake\"")) {
          handshakeStatus = status;
        }
        if (event && status / 100 == 2) {
          forwardedEvents.incrementAndGet();
        }
        ex.sendResponseHeaders(status, -1);
      }
    });
    server.start();
  }

  /** The relay address that stands for {@code endpoint}. */
  public String route(URI endpoint) {
    int id = next.incrementAndGet();
    routes.put(id, endpoint);
    String h = host.contains(":") ? "[" + host + "]" : host;
    return "http://" + h + ":" + server.getAddress().getPort() + "/relay/" + id;
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
  }
}
