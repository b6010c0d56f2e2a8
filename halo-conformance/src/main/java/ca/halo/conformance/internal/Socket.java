package ca.halo.conformance.internal;

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
  /** A notification larger than this ends the connection (the kit reads what a hostile server sends). */
  private static final int MAX_MESSAGE = 4 << 20;
  private final BlockingQueue<String> messages;
  private final WebSocket ws;

  private Socket(WebSocket ws, BlockingQueue<String> messages) {
    this.ws = ws;
    this.messages = messages;
  }

  /** Opens {@code url}; whole text messages are queued (frames joined) until read. */
  public static Socket connect(URI url) {
    BlockingQueue<String> q = new LinkedBlockingQueue<>();
    try {
      WebSocket ws = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
          .newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
          .buildAsync(url, new WebSocket.Listener() {
            private final StringBuilder part = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
              if (part.length() + data.length() > MAX_MESSAGE) {
                w.abort();
                return null;
              }
              part.append(data);
              if (last) {
                q.add(part.toString());
                part.setLength(0);
              }
              w.request(1);
              return null;
            }
          }).get(15, TimeUnit.SECONDS);
      Evidence.add("WEBSOCKET " + url + "\n--> connected");
      return new Socket(ws, q);
    } catch (Exception e) {
      Evidence.add("WEBSOCKET " + url + "\n--> no connection: " + e);
      throw new CheckFailure("could not open the websocket " + url + ": " + e);
    }
  }

  public void send(String text) {
    Evidence.add("WEBSOCKET send: " + Redact.body("text/plain", text));
    ws.sendText(text, true).join();
  }

  /** Reads until a notification of {@code type} arrives (others are skipped), or null at the deadline. */
  public Fhir.Status awaitType(String type, Duration wait) throws InterruptedException {
    return Fhir.awaitType(messages, type, wait, "WEBSOCKET received");
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
