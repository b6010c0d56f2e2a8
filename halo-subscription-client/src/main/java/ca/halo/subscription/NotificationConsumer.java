package ca.halo.subscription;

import ca.halo.core.HaloException;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PoC's Notification Consumer core (CA:FSub): tracks event numbers per subscription, fills
 * gaps with {@code $events}, drops duplicates, and hands each event to the listener exactly once,
 * in order. Shared by the rest-hook handler and the websocket consumer.
 *
 * <pre>{@code
 * NotificationConsumer consumer = NotificationConsumer.builder(subscriptionClient,
 *     (sub, event) -> emr.applyWriteBack(event)).fetchFocus(true).build();
 * }</pre>
 *
 * <p>Thread-safe; notifications of one subscription are processed one at a time. When a gap
 * cannot be filled (the SoFA is unreachable), nothing after the gap is delivered and
 * {@link #accept(SubscriptionNotification)} returns false; the next notification (or heartbeat)
 * tries again, so an event is never skipped. Positions ({@link #lastDelivered(String)}) can be
 * saved and restored with {@link #resumeAfter(String, long)} across restarts.
 */
public final class NotificationConsumer {
  private static final Logger LOG = LoggerFactory.getLogger(NotificationConsumer.class);

  private final SubscriptionClient recovery;
  private final SubscriptionListener listener;
  private final IGenericClient focusClient;
  private final Map<String, long[]> positions = new ConcurrentHashMap<>();

  private NotificationConsumer(Builder b) {
    this.recovery = b.recovery;
    this.listener = b.listener;
    this.focusClient = b.fetchFocus ? b.recovery.fhir() : null;
  }

  public static Builder builder(SubscriptionClient recovery, SubscriptionListener listener) {
    return new Builder(recovery, listener);
  }

  /** The number of the last event delivered for a subscription id (0 if none). */
  public long lastDelivered(String subscriptionId) {
    long[] p = positions.get(idPart(subscriptionId));
    return p == null ? 0 : p[0];
  }

  /** Starts (or restarts) a subscription's position: events up to {@code number} count as delivered. */
  public void resumeAfter(String subscriptionId, long number) {
    positions.put(idPart(subscriptionId), new long[] {number});
  }

  /**
   * Processes one notification.
   *
   * @return true when every event it announces (itself, or through events-since) was delivered;
   *     false when a gap could not be filled yet
   */
  public boolean accept(SubscriptionNotification n) {
    String id = idPart(n.subscription());
    long[] pos = positions.computeIfAbsent(id, k -> new long[] {0});
    synchronized (pos) {
      List<NotificationEvent> events = new ArrayList<>(n.events());
      events.sort(Comparator.comparingLong(NotificationEvent::number));
      for (NotificationEvent e : events) {
        if (e.number() <= pos[0]) {
          continue; // duplicate: at-least-once delivery
        }
        if (e.number() > pos[0] + 1 && !recover(id, pos, e.number() - 1)) {
          return false;
        }
        deliver(id, pos, e);
      }
      boolean statusLike = !n.type().equals(NotificationType.EVENT_NOTIFICATION)
          || !n.events().isEmpty();
      if (statusLike && n.eventsSinceSubscriptionStart() > pos[0]) {
        return recover(id, pos, n.eventsSinceSubscriptionStart());
      }
      return true;
    }
  }

  /** Fetches events pos+1..upTo with $events and delivers them; caller holds pos. */
  private boolean recover(String id, long[] pos, long upTo) {
    SubscriptionNotification missing;
    try {
      missing = recovery.events(EventsRequest.builder(id).since(pos[0] + 1).until(upTo).build());
    } catch (HaloException e) {
      LOG.warn("could not fill the event gap of Subscription/{} ({}); will retry",
          id, e.getClass().getSimpleName());
      return false;
    }
    List<NotificationEvent> events = new ArrayList<>(missing.events());
    events.sort(Comparator.comparingLong(NotificationEvent::number));
    for (NotificationEvent e : events) {
      if (e.number() <= pos[0]) {
        continue;
      }
      if (e.number() != pos[0] + 1) {
        LOG.warn("Subscription/{}: events {}..{} are no longer kept by the server; continuing",
            id, pos[0] + 1, e.number() - 1);
      }
      deliver(id, pos, e);
    }
    if (pos[0] < upTo) {
      // skip ahead only as far as the server itself counts: a forged or broken notification
      // announcing events-since 9223372036854775807 must not make every later event a "duplicate"
      long known = Math.min(upTo, missing.eventsSinceSubscriptionStart());
      if (known > pos[0]) {
        LOG.warn("Subscription/{}: events up to {} are no longer kept by the server", id, known);
        pos[0] = known;
      }
      if (upTo > known) {
        LOG.warn("Subscription/{}: a notification announced event {} but the server counts {};"
            + " ignoring the difference", id, upTo, known);
      }
    }
    return true;
  }

  private void deliver(String id, long[] pos, NotificationEvent e) {
    NotificationEvent out = e;
    if (focusClient != null && e.resource().isEmpty() && e.focus().isPresent()) {
      String[] p = e.focus().get().split("/");
      try {
        if (p.length != 2 || p[0].isBlank() || p[1].isBlank()) {
          throw new DataFormatException("focus is not Type/id");
        }
        out = e.withResource((Resource) focusClient.read().resource(p[0]).withId(p[1]).execute());
      } catch (ResourceNotFoundException | ResourceGoneException gone) {
        LOG.debug("focus of event {} is gone; delivering without it", e.number());
      } catch (DataFormatException | FhirClientConnectionException bad) {
        if (bad instanceof FhirClientConnectionException
            && !(bad.getCause() instanceof DataFormatException)) {
          throw bad; // the SoFA is unreachable: fail, so the notification comes again
        }
        // an unknown resource type, or an answer that is not FHIR: retrying cannot help
        LOG.warn("focus of event {} cannot be read ({}); delivering without it", e.number(),
            bad.getClass().getSimpleName());
      }
    }
    listener.onEvent(id, out);
    pos[0] = e.number();
  }

  private static String idPart(String ref) {
    String r = Objects.requireNonNull(ref);
    int slash = r.lastIndexOf('/');
    return slash < 0 ? r : r.substring(slash + 1);
  }

  /** Builds a {@link NotificationConsumer}. */
  public static final class Builder {
    private final SubscriptionClient recovery;
    private final SubscriptionListener listener;
    private boolean fetchFocus;

    private Builder(SubscriptionClient recovery, SubscriptionListener listener) {
      this.recovery = Objects.requireNonNull(recovery, "recovery");
      this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** With id-only payloads, read each focus resource before delivering the event. */
    public Builder fetchFocus(boolean v) { this.fetchFocus = v; return this; }

    public NotificationConsumer build() {
      return new NotificationConsumer(this);
    }
  }
}
