package ca.halo.conformance.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A websocket subscription channel as a consumer sees it: bind, then read notification Bundles. */
public final class Socket implements AutoCloseable {
  private final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
  private final WebSocket ws;

  private Socket(WebSocket ws) {
    this.ws = ws;
  }

  public static Socket connect(URI url) {
    Socket[] self = new Socket[1];
    BlockingQueue<String> q = new LinkedBlockingQueue<>();
    try {
      WebSocket ws = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
          .newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
          .buildAsync(url, new WebSocket.Listener() {
            private final StringBuilder part = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
              part.append(data);
              if (last) {
                q.add(part.toString());
                part.setLength(0);
              }
              w.request(1);
              return null;
            }
          }).get(15, TimeUnit.SECONDS);
      Socket s = new Socket(ws);
      self[0] = s;
      Thread t = new Thread(() -> {
        try {
          while (true) {
            s.messages.add(q.take());
          }
        } catch (InterruptedException e) {
          // closing
        }
      }, "kit-ws");
      t.setDaemon(true);
      t.start();
      Evidence.add("WEBSOCKET " + url + "\n--> connected");
      return s;
    } catch (Exception e) {
      Evidence.add("WEBSOCKET " + url + "\n--> no connection: " + e);
      throw new CheckFailure("could not open the websocket " + url + ": " + e);
    }
  }

  public void send(String text) {
    Evidence.add("WEBSOCKET send: " + Redact.body("text/plain", text));
    ws.sendText(text, true).join();
  }

  /** The next notification Bundle within {@code wait}, or null. */
  public JsonNode next(Duration wait) throws InterruptedException {
    String m = messages.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    if (m == null) {
      return null;
    }
    Evidence.add("WEBSOCKET received:\n" + Redact.body("application/json", m));
    try {
      return Http.JSON.readTree(m);
    } catch (Exception e) {
      throw new CheckFailure("a websocket message is not JSON: " + Redact.body("text/plain", m));
    }
  }

  /** Reads until a notification of {@code type} arrives (others are skipped), or null at the deadline. */
  public Fhir.Status awaitType(String type, Duration wait) throws InterruptedException {
    long end = System.nanoTime() + wait.toNanos();
    while (System.nanoTime() < end) {
      JsonNode n = next(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
      if (n == null) {
        return null;
      }
      if (!n.has("resourceType")) {
        continue;
      }
      Fhir.Status s = Fhir.status(n);
      if (s.type.equals(type)) {
        return s;
      }
    }
    return null;
  }

  @Override
  public void close() {
    try {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      ws.abort();
    }
  }
}
