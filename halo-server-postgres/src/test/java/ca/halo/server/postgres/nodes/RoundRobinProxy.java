package ca.halo.server.postgres.nodes;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load balancer on loopback that sends each HTTP request to the next node in turn: consecutive
 * requests of one client (a redirect, then the form it leads to, then the token) land on
 * different nodes. Plain HTTP only (no websockets); counts what each node served.
 */
public final class RoundRobinProxy implements AutoCloseable {
  private static final Set<String> HOP = Set.of("connection", "content-length", "expect", "host",
      "upgrade", "transfer-encoding", "keep-alive", "te", "trailer", "proxy-connection");

  private final HttpServer server;
  private final ExecutorService pool = Executors.newFixedThreadPool(8);
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final List<URI> nodes;
  private final AtomicInteger next = new AtomicInteger();
  private final Map<URI, AtomicLong> served = new ConcurrentHashMap<>();

  public RoundRobinProxy(List<URI> nodes) throws IOException {
    this(0, nodes);
  }

  public RoundRobinProxy(int port, List<URI> nodes) throws IOException {
    this.nodes = List.copyOf(nodes);
    nodes.forEach(n -> served.put(n, new AtomicLong()));
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.setExecutor(pool);
    server.createContext("/", this::forward);
    server.start();
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Requests each node answered. */
  public long served(URI node) {
    return served.get(node).get();
  }

  private void forward(HttpExchange ex) throws IOException {
    try (ex) {
      int first = next.getAndIncrement();
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readAllBytes();
      }
      HttpResponse<byte[]> r = null;
      URI node = null;
      // a node that refuses the connection (stopped) is skipped, as a load balancer's passive
      // health check does: nothing reached it, so the next one may take the request
      for (int attempt = 0; attempt < nodes.size() && r == null; attempt++) {
        node = nodes.get(Math.floorMod(first + attempt, nodes.size()));
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(node + ex.getRequestURI().toString()))
            .timeout(Duration.ofSeconds(60))
            .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body));
        ex.getRequestHeaders().forEach((name, values) -> {
          if (!HOP.contains(name.toLowerCase())) {
            values.forEach(v -> rb.header(name, v));
          }
        });
        try {
          r = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.net.ConnectException e) {
          continue;
        } catch (IOException e) {
          ex.sendResponseHeaders(502, -1);
          return;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          ex.sendResponseHeaders(502, -1);
          return;
        }
      }
      if (r == null) {
        ex.sendResponseHeaders(502, -1);
        return;
      }
      served.get(node).incrementAndGet();
      r.headers().map().forEach((name, values) -> {
        if (!HOP.contains(name.toLowerCase()) && !name.startsWith(":")) {
          ex.getResponseHeaders().put(name, values);
        }
      });
      byte[] out = r.body();
      boolean empty = out.length == 0 || ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(r.statusCode(), empty ? -1 : out.length);
      if (!empty) {
        try (OutputStream o = ex.getResponseBody()) {
          o.write(out);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
