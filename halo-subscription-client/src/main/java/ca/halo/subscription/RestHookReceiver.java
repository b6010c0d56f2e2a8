package ca.halo.subscription;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small embeddable HTTP receiver for rest-hook notifications, on the JDK's own HTTP server (no
 * extra dependency). For EMRs without an HTTP stack of their own, and for tests.
 *
 * <pre>{@code
 * try (RestHookReceiver r = RestHookReceiver.start("127.0.0.1", 0, "/hook", handler)) {
 *   URI endpoint = r.url();   // give this to SubscriptionRequest.restHook(...)
 * }
 * }</pre>
 *
 * <p>Runs the handler on its own pool of {@code threads} threads ({@code halo-rest-hook-N}),
 * stopped by {@link #close()}. Put it behind TLS (a reverse proxy) anywhere but loopback.
 */
public final class RestHookReceiver implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService pool;
  private final URI url;

  private RestHookReceiver(HttpServer server, ExecutorService pool, URI url) {
    this.server = server;
    this.pool = pool;
    this.url = url;
  }

  public static RestHookReceiver start(String host, int port, String path, RestHookHandler handler)
      throws IOException {
    return start(host, port, path, handler, 4);
  }

  public static RestHookReceiver start(String host, int port, String path, RestHookHandler handler,
      int threads) throws IOException {
    Objects.requireNonNull(handler, "handler");
    HttpServer s = HttpServer.create(new InetSocketAddress(host, port), 64);
    AtomicInteger n = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "halo-rest-hook-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    s.setExecutor(pool);
    s.createContext(path, ex -> handle(ex, handler));
    s.start();
    String h = host.contains(":") ? "[" + host + "]" : host;
    return new RestHookReceiver(s, pool, URI.create("http://" + h + ":" + s.getAddress().getPort() + path));
  }

  private static void handle(HttpExchange ex, RestHookHandler handler) throws IOException {
    try (ex) {
      if (!ex.getRequestMethod().equals("POST")) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      if (!handler.accepts(ex.getRequestHeaders())) {
        ex.sendResponseHeaders(401, -1); // refused before a byte of the body is read
        return;
      }
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, handler.maxBodyBytes() + 1));
      }
      int status = handler.handle(ex.getRequestHeaders(), body);
      ex.sendResponseHeaders(status, -1);
    }
  }

  /** The endpoint URL to put in the Subscription. */
  public URI url() {
    return url;
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
    try {
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "RestHookReceiver{" + url + "}";
  }
}
