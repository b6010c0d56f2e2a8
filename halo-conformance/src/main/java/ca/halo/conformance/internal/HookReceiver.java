package ca.halo.conformance.internal;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A rest-hook endpoint on this machine: answers 200 to posts that carry its secret header (401
 * otherwise, before reading), reads at most 1 MiB, and queues the notification Bundles.
 */
public final class HookReceiver implements AutoCloseable {
  private static final int MAX = 1 << 20;
  private final HttpServer server;
  private final BlockingQueue<String> bodies = new LinkedBlockingQueue<>();
  public final String secret = Pkce.random(24);
  private final String host;

  private HookReceiver(String host) throws IOException {
    this.host = host;
    server = HttpServer.create(new InetSocketAddress(host, 0), 16);
    server.createContext("/hook", ex -> {
      try (ex) {
        if (!("Bearer " + secret).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
          ex.sendResponseHeaders(401, -1);
          return;
        }
        try (InputStream in = ex.getRequestBody()) {
          byte[] b = in.readNBytes(MAX + 1);
          if (b.length > MAX) {
            ex.sendResponseHeaders(413, -1);
            return;
          }
          bodies.add(new String(b, StandardCharsets.UTF_8));
        }
        ex.sendResponseHeaders(200, -1);
      }
    });
    server.start();
  }

  public static HookReceiver start(String host) {
    try {
      return new HookReceiver(host);
    } catch (IOException e) {
      throw new CheckFailure("could not listen on " + host + " for rest-hooks: " + e);
    }
  }

  public String url() {
    String h = host.contains(":") ? "[" + host + "]" : host;
    return "http://" + h + ":" + server.getAddress().getPort() + "/hook";
  }

  /** The next notification of {@code type} within {@code wait}, others skipped; null at the deadline. */
  public Fhir.Status await(String type, Duration wait) throws InterruptedException {
    return Fhir.awaitType(bodies, type, wait, "REST-HOOK received");
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
