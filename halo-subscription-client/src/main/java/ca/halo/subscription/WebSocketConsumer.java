package ca.halo.subscription;

import ca.halo.core.HaloException;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.uhn.fhir.context.FhirContext;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The websocket channel of the Notification Consumer: gets a binding token
 * ({@code $get-ws-binding-token}, POST), connects, sends {@code bind-with-token}, and hands every
 * notification to the {@link NotificationConsumer}. Reconnects on its own with exponential
 * backoff (and a fresh token) when the socket drops or falls silent past the heartbeat timeout;
 * the handshake after each bind carries events-since, so the consumer fills any gap with
 * {@code $events}.
 *
 * <pre>{@code
 * WebSocketConsumer ws = WebSocketConsumer.builder(subscriptionClient, subscriptionId, consumer)
 *     .heartbeatTimeout(Duration.ofSeconds(90)).build();
 * ws.start();
 * }</pre>
 *
 * <p>Listener calls come on OkHttp's websocket reader thread; reconnects run on one daemon
 * thread ({@code halo-ws-reconnect}), stopped by {@link #close()}.
 */
public final class WebSocketConsumer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebSocketConsumer.class);

  private final SubscriptionClient client;
  private final String subscriptionId;
  private final NotificationConsumer consumer;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration heartbeatTimeout;
  private final ScheduledExecutorService scheduler;
  private final AtomicInteger failures = new AtomicInteger();
  private final AtomicLong lastMessage = new AtomicLong();
  private final AtomicInteger connects = new AtomicInteger();
  private volatile WebSocket socket;
  private volatile boolean closed;
  private volatile boolean bound;
  private ScheduledFuture<?> watchdog;

  private WebSocketConsumer(Builder b) {
    this.client = b.client;
    this.subscriptionId = b.subscriptionId;
    this.consumer = b.consumer;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.heartbeatTimeout = b.heartbeatTimeout;
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "halo-ws-reconnect");
      t.setDaemon(true);
      return t;
    });
  }

  public static Builder builder(SubscriptionClient client, String subscriptionId,
      NotificationConsumer consumer) {
    return new Builder(client, subscriptionId, consumer);
  }

  /** Connects (in the background); returns at once. */
  public synchronized void start() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    scheduler.execute(this::connect);
    if (heartbeatTimeout != null) {
      long ms = heartbeatTimeout.toMillis();
      watchdog = scheduler.scheduleWithFixedDelay(() -> {
        WebSocket s = socket;
        if (s != null && bound && System.nanoTime() - lastMessage.get() > ms * 1_000_000) {
          LOG.debug("no heartbeat for {} ms; reconnecting", ms);
          s.cancel();
        }
      }, ms, Math.max(50, ms / 4), TimeUnit.MILLISECONDS);
    }
  }

  /** Whether the socket is connected and bound now. */
  public boolean isBound() {
    return bound;
  }

  /** How many times a socket was opened (1 + reconnects). */
  public int connectCount() {
    return connects.get();
  }

  /** Drops the current socket as if the network failed (for tests and operational drills). */
  public void dropConnection() {
    WebSocket s = socket;
    if (s != null) {
      s.cancel();
    }
  }

  private void connect() {
    if (closed) {
      return;
    }
    WebSocketBinding binding;
    try {
      binding = client.bindingToken(subscriptionId);
    } catch (HaloException e) {
      LOG.warn("cannot get a websocket binding token ({}); retrying", e.getClass().getSimpleName());
      scheduleReconnect();
      return;
    }
    Request req = new Request.Builder().url(binding.websocketUrl().toString()).build();
    connects.incrementAndGet();
    socket = client.http().okHttp().newWebSocket(req, new WebSocketListener() {
      @Override
      public void onOpen(WebSocket ws, Response response) {
        lastMessage.set(System.nanoTime());
        ws.send("bind-with-token " + binding.token());
      }

      @Override
      public void onMessage(WebSocket ws, String text) {
        lastMessage.set(System.nanoTime());
        Optional<SubscriptionNotification> parsed = parseFrame(client.fhirContext(), text);
        if (parsed.isEmpty()) {
          LOG.warn("ignored a websocket frame that is not a notification Bundle");
          return;
        }
        SubscriptionNotification n = parsed.get();
        bound = true;
        failures.set(0);
        try {
          consumer.accept(n);
        } catch (RuntimeException e) {
          LOG.warn("the subscription listener failed ({}); reconnecting to replay",
              e.getClass().getSimpleName());
          ws.cancel();
        }
      }

      @Override
      public void onClosing(WebSocket ws, int code, String reason) {
        ws.close(1000, null);
      }

      @Override
      public void onClosed(WebSocket ws, int code, String reason) {
        lost(ws);
      }

      @Override
      public void onFailure(WebSocket ws, Throwable t, Response response) {
        lost(ws);
      }
    });
  }

  /**
   * A websocket text frame as a notification; empty for anything else (the SoFA's own frames such
   * as a bind acknowledgement, or junk). Never throws.
   */
  static Optional<SubscriptionNotification> parseFrame(FhirContext ctx, String text) {
    try {
      IBaseResource r = FhirJsonBodies.parse(ctx, text, "websocket frame");
      return r instanceof Bundle ? Optional.of(SubscriptionNotification.parse((Bundle) r))
          : Optional.empty();
    } catch (HaloException e) {
      return Optional.empty();
    }
  }

  private void lost(WebSocket ws) {
    if (ws != socket) {
      return;
    }
    bound = false;
    socket = null;
    if (!closed) {
      scheduleReconnect();
    }
  }

  private void scheduleReconnect() {
    int n = failures.incrementAndGet();
    long ms = Math.min(initialBackoff.toMillis() << Math.min(20, n - 1), maxBackoff.toMillis());
    try {
      scheduler.schedule(this::connect, ms, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (watchdog != null) {
      watchdog.cancel(false);
    }
    WebSocket s = socket;
    if (s != null) {
      s.close(1000, "consumer closed");
    }
    scheduler.shutdownNow();
  }

  @Override
  public String toString() {
    return "WebSocketConsumer{Subscription/" + subscriptionId + ", bound=" + bound + "}";
  }

  /** Builds a {@link WebSocketConsumer}. */
  public static final class Builder {
    private final SubscriptionClient client;
    private final String subscriptionId;
    private final NotificationConsumer consumer;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Duration heartbeatTimeout;

    private Builder(SubscriptionClient client, String subscriptionId, NotificationConsumer consumer) {
      this.client = Objects.requireNonNull(client);
      this.subscriptionId = Objects.requireNonNull(subscriptionId);
      this.consumer = Objects.requireNonNull(consumer);
    }

    public Builder initialBackoff(Duration v) { this.initialBackoff = Objects.requireNonNull(v); return this; }
    public Builder maxBackoff(Duration v) { this.maxBackoff = Objects.requireNonNull(v); return this; }
    /** Reconnect when nothing (not even a heartbeat) arrived for this long. Off by default. */
    public Builder heartbeatTimeout(Duration v) { this.heartbeatTimeout = Objects.requireNonNull(v); return this; }

    public WebSocketConsumer build() {
      return new WebSocketConsumer(this);
    }
  }
}
