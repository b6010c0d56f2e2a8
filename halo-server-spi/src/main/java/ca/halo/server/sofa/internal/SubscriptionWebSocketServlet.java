package ca.halo.server.sofa.internal;

import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.WebSocketSink;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServlet;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServletFactory;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * The websocket channel of CA:FSub: {@code bind-with-token}, then notification frames.
 *
 * <p>Bounded for callers nobody knows yet: at most {@code maxConnections} sockets at once (503
 * past that), a socket that has not bound within {@code bindTimeout} is closed, an incoming
 * message may be at most 4 KiB (only {@code bind-with-token <token>} is expected), and at most 16
 * outgoing frames wait for a slow reader before sending fails. A bound socket may stay idle for
 * 15 minutes.
 */
public final class SubscriptionWebSocketServlet extends JettyWebSocketServlet {
  private static final long serialVersionUID = 1L;
  static final long MAX_INCOMING = 4096;
  private static final Duration BOUND_IDLE = Duration.ofMinutes(15);

  private final transient SubscriptionEngine engine;
  private final int maxConnections;
  private final Duration bindTimeout;
  private final AtomicInteger open = new AtomicInteger();

  public SubscriptionWebSocketServlet(SubscriptionEngine engine, int maxConnections,
      Duration bindTimeout) {
    this.engine = engine;
    this.maxConnections = maxConnections;
    this.bindTimeout = bindTimeout;
  }

  @Override
  protected void configure(JettyWebSocketServletFactory factory) {
    factory.setIdleTimeout(bindTimeout);
    factory.setMaxTextMessageSize(MAX_INCOMING);
    factory.setMaxBinaryMessageSize(MAX_INCOMING);
    factory.setMaxFrameSize(MAX_INCOMING);
    factory.setInputBufferSize((int) MAX_INCOMING);
    factory.setMaxOutgoingFrames(16);
    factory.addMapping("/", (req, resp) -> {
      if (open.incrementAndGet() > maxConnections) {
        open.decrementAndGet();
        resp.sendError(503, "too many websocket connections");
        return null;
      }
      return new Endpoint(engine, open);
    });
  }

  /** Open sockets now (bound or not). */
  int openConnections() {
    return open.get();
  }

  /** One socket. */
  public static final class Endpoint implements Session.Listener.AutoDemanding, WebSocketSink {
    private final SubscriptionEngine engine;
    private final AtomicInteger open;
    private volatile Session session;
    private volatile boolean counted = true;

    Endpoint(SubscriptionEngine engine, AtomicInteger open) {
      this.engine = engine;
      this.open = open;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      this.session = s;
    }

    @Override
    public void onWebSocketText(String text) {
      engine.onWebSocketText(this, text);
    }

    @Override
    public void onWebSocketBinary(java.nio.ByteBuffer payload, Callback callback) {
      callback.succeed();
      close(1003, "send bind-with-token <token> as text");
    }

    @Override
    public void onWebSocketClose(int code, String reason, Callback callback) {
      release();
      engine.onWebSocketClosed(this);
      callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable t) {
      release();
      engine.onWebSocketClosed(this);
    }

    private synchronized void release() {
      if (counted) {
        counted = false;
        open.decrementAndGet();
      }
    }

    @Override
    public void bound() {
      Session s = session;
      if (s != null) {
        s.setIdleTimeout(BOUND_IDLE);
      }
    }

    @Override
    public boolean send(String text) {
      Session s = session;
      if (s == null || !s.isOpen()) {
        return false;
      }
      Callback.Completable done = new Callback.Completable();
      try {
        s.sendText(text, done);
        done.get(10, TimeUnit.SECONDS);
        return true;
      } catch (Exception e) {
        return false;
      }
    }

    @Override
    public void close(int code, String reason) {
      Session s = session;
      if (s != null && s.isOpen()) {
        s.close(code, reason, Callback.NOOP);
      }
    }
  }
}
