package ca.halo.server;

import ca.halo.core.subscription.SubscriptionNotification;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.hl7.fhir.r4.model.Bundle;

/**
 * A rest-hook receiver on loopback (the JDK's HTTP server): records every notification it is
 * sent, with the headers and the time it arrived, and answers with a status the test sets.
 */
public final class HookReceiver implements AutoCloseable {
  /** One request as received. */
  public record Received(SubscriptionNotification notification, String body,
      Map<String, List<String>> headers, long arrivedNanos, int answered) {}

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private volatile int status = 200;
  private volatile java.util.concurrent.CountDownLatch gate;
  private final List<Map<String, List<String>>> arrivals = new CopyOnWriteArrayList<>();
  /** Requests whose handling ended, answered or not (the sender may have gone). */
  private final java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();

  public HookReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/", ex -> {
      try (InputStream in = ex.getRequestBody()) {
        String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        SubscriptionNotification n = null;
        try {
          n = SubscriptionNotification.parse((Bundle) TestSofa.CTX.newJsonParser().parseResource(body));
        } catch (RuntimeException e) {
          // recorded with a null notification: the test decides
        }
        arrivals.add(Map.copyOf(ex.getRequestHeaders()));
        synchronized (this) {
          notifyAll();
        }
        java.util.concurrent.CountDownLatch g = gate;
        if (g != null) {
          try {
            g.await(120, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        int answer = status;
        ex.sendResponseHeaders(answer, -1);
        received.add(new Received(n, body, Map.copyOf(ex.getRequestHeaders()), System.nanoTime(),
            answer));
        synchronized (this) {
          notifyAll();
        }
      } finally {
        ex.close();
        finished.incrementAndGet();
        synchronized (this) {
          notifyAll();
        }
      }
    });
    server.start();
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public void answer(int status) {
    this.status = status;
  }

  /**
   * Holds every request from now on without answering until {@link #release()}: a delivery in
   * flight, for as long as the test wants.
   */
  public void hold() {
    gate = new java.util.concurrent.CountDownLatch(1);
  }

  /** Answers the held requests (those whose sender is still there) and holds no more. */
  public void release() {
    java.util.concurrent.CountDownLatch g = gate;
    gate = null;
    if (g != null) {
      g.countDown();
    }
  }

  /** The headers of every request that arrived, answered or not yet, in arrival order. */
  public List<Map<String, List<String>>> arrivals() {
    return new ArrayList<>(arrivals);
  }

  public List<Received> received() {
    return new ArrayList<>(received);
  }

  /**
   * Waits until every request that arrived has been handled (answered, or failed because its
   * sender went away); false on timeout. Answers written to a sender that died may still count as
   * received: the operating system takes the bytes before it learns the peer is gone.
   */
  public boolean awaitSettled(Duration timeout) throws InterruptedException {
    return await(r -> finished.get() >= arrivals.size(), timeout);
  }

  /** Every event notification's events that were accepted (answered 2xx), in arrival order. */
  public List<ca.halo.core.subscription.NotificationEvent> events() {
    return eventsSince(0);
  }

  /** As {@link #events()}, of the requests received after the first {@code skip}. */
  public List<ca.halo.core.subscription.NotificationEvent> eventsSince(int skip) {
    List<ca.halo.core.subscription.NotificationEvent> out = new ArrayList<>();
    List<Received> all = new ArrayList<>(received);
    for (Received r : all.subList(Math.min(skip, all.size()), all.size())) {
      if (r.notification() != null && r.answered() < 300 && r.notification().type()
          .equals(ca.halo.core.subscription.NotificationType.EVENT_NOTIFICATION)) {
        out.addAll(r.notification().events());
      }
    }
    return out;
  }

  /** The distinct event numbers received so far, in order. */
  public java.util.SortedSet<Long> numbers() {
    java.util.SortedSet<Long> out = new java.util.TreeSet<>();
    events().forEach(e -> out.add(e.number()));
    return out;
  }

  /** The {@code User-Agent} of a request's headers (the delivering node's name), or "". */
  public static String userAgent(Map<String, List<String>> headers) {
    for (Map.Entry<String, List<String>> h : headers.entrySet()) {
      if (h.getKey().equalsIgnoreCase("User-Agent")) {
        return h.getValue().get(0);
      }
    }
    return "";
  }

  /** Waits until {@code p} holds for what was received; false on timeout. */
  public synchronized boolean await(Predicate<HookReceiver> p, Duration timeout)
      throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!p.test(this)) {
      long left = end - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  @Override
  public void close() {
    release();
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
