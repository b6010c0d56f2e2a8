package ca.halo.server.sofa.internal;

import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.WebSocketSink;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServlet;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServletFactory;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * The websocket channel of CA:FSub: {@code bind-with-token}, then notification frames.
 *
 * <p>Bounded for callers nobody knows yet: at most {@code maxConnections} open sockets (a socket
 * counts from the moment it opens until it closes, however it closes; an upgrade past the bound is
 * answered 503, a socket that opens past it is closed at once), at most
 * {@value #MAX_UNBOUND_PER_ADDRESS} unbound sockets per client address, and a socket that has not
 * bound within {@code bindTimeout} of opening is closed whatever it sends meanwhile (pings
 * included). An incoming message may be at most 4 KiB (only {@code bind-with-token <token>} is
 * expected), and at most 16 outgoing frames wait for a slow reader before sending fails. A bound
 * socket may stay idle for 15 minutes.
 */
public final class SubscriptionWebSocketServlet extends JettyWebSocketServlet {
  private static final long serialVersionUID = 1L;
  static final long MAX_INCOMING = 4096;
  static final int MAX_UNBOUND_PER_ADDRESS = 20;
  private static final Duration BOUND_IDLE = Duration.ofMinutes(15);

  private final transient SubscriptionEngine engine;
  private final int maxConnections;
  private final Duration bindTimeout;
  private final AtomicInteger open = new AtomicInteger();
  private final transient Map<String, AtomicInteger> unboundByAddress = new ConcurrentHashMap<>();
  private final transient ScheduledExecutorService deadlines;

  public SubscriptionWebSocketServlet(SubscriptionEngine engine, int maxConnections,
      Duration bindTimeout) {
    this.engine = engine;
    this.maxConnections = maxConnections;
    this.bindTimeout = bindTimeout;
    java.util.concurrent.ScheduledThreadPoolExecutor d =
        new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
          Thread t = new Thread(r, "halo-sofa-ws-deadlines");
          t.setDaemon(true);
          return t;
        });
    d.setRemoveOnCancelPolicy(true);
    this.deadlines = d;
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
      // a first, cheap refusal; the count itself is kept from open to close (see Endpoint)
      if (open.get() >= maxConnections) {
        resp.sendError(503, "too many websocket connections");
        return null;
      }
      return new Endpoint(this);
    });
  }

  @Override
  public void destroy() {
    deadlines.shutdownNow();
    super.destroy();
  }

  /** Open sockets now (bound or not). */
  int openConnections() {
    return open.get();
  }

  private static String addressOf(Session s) {
    SocketAddress a = s.getRemoteSocketAddress();
    return a instanceof InetSocketAddress && ((InetSocketAddress) a).getAddress() != null
        ? ((InetSocketAddress) a).getAddress().getHostAddress() : String.valueOf(a);
  }

  /** One socket. */
  public static final class Endpoint implements Session.Listener.AutoDemanding, WebSocketSink {
    private final SubscriptionWebSocketServlet servlet;
    private volatile Session session;
    private String address;
    private boolean counted;
    private boolean unbound;
    private ScheduledFuture<?> deadline;

    Endpoint(SubscriptionWebSocketServlet servlet) {
      this.servlet = servlet;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      this.session = s;
      String why = null;
      synchronized (this) {
        counted = true;
        if (servlet.open.incrementAndGet() > servlet.maxConnections) {
          why = "too many websocket connections";
        } else {
          address = addressOf(s);
          unbound = true;
          if (servlet.unboundByAddress.computeIfAbsent(address, k -> new AtomicInteger())
              .incrementAndGet() > MAX_UNBOUND_PER_ADDRESS) {
            why = "too many unbound websockets from this address";
          } else {
            deadline = servlet.deadlines.schedule(() -> close(1008, "bind within "
                + servlet.bindTimeout.toSeconds() + " s"), servlet.bindTimeout.toMillis(),
                TimeUnit.MILLISECONDS);
          }
        }
      }
      if (why != null) {
        close(1013, why);
      }
    }

    @Override
    public void onWebSocketText(String text) {
      servlet.engine.onWebSocketText(this, text);
    }

    @Override
    public void onWebSocketBinary(java.nio.ByteBuffer payload, Callback callback) {
      callback.succeed();
      close(1003, "send bind-with-token <token> as text");
    }

    @Override
    public void onWebSocketClose(int code, String reason, Callback callback) {
      release();
      servlet.engine.onWebSocketClosed(this);
      callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable t) {
      release();
      servlet.engine.onWebSocketClosed(this);
    }

    /** Gives back what this socket held, once, however it ended. */
    private synchronized void release() {
      leaveUnbound();
      if (counted) {
        counted = false;
        servlet.open.decrementAndGet();
      }
    }

    private synchronized void leaveUnbound() {
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
      if (unbound) {
        unbound = false;
        servlet.unboundByAddress.computeIfPresent(address,
            (k, n) -> n.decrementAndGet() <= 0 ? null : n);
      }
    }

    @Override
    public void bound() {
      leaveUnbound();
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
