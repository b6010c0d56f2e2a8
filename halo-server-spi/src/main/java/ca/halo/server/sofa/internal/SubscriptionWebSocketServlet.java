package ca.halo.server.sofa.internal;

import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.WebSocketSink;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServlet;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServletFactory;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/** The websocket channel of CA:FSub: {@code bind-with-token}, then notification frames. */
public final class SubscriptionWebSocketServlet extends JettyWebSocketServlet {
  private static final long serialVersionUID = 1L;
  private final transient SubscriptionEngine engine;

  public SubscriptionWebSocketServlet(SubscriptionEngine engine) {
    this.engine = engine;
  }

  @Override
  protected void configure(JettyWebSocketServletFactory factory) {
    factory.setIdleTimeout(Duration.ofMinutes(15));
    factory.setMaxTextMessageSize(16 * 1024 * 1024);
    factory.addMapping("/", (req, resp) -> new Endpoint(engine));
  }

  /** One socket. */
  public static final class Endpoint implements Session.Listener.AutoDemanding, WebSocketSink {
    private final SubscriptionEngine engine;
    private volatile Session session;

    Endpoint(SubscriptionEngine engine) {
      this.engine = engine;
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
    public void onWebSocketClose(int code, String reason) {
      engine.onWebSocketClosed(this);
    }

    @Override
    public void onWebSocketError(Throwable t) {
      engine.onWebSocketClosed(this);
    }

    @Override
    public boolean send(String text) {
      Session s = session;
      if (s == null || !s.isOpen()) {
        return false;
      }
      Callback.Completable done = new Callback.Completable();
      s.sendText(text, done);
      try {
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
