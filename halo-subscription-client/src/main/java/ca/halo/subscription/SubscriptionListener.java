package ca.halo.subscription;

import ca.halo.core.subscription.NotificationEvent;

/**
 * Receives each event of a subscription exactly once, in event-number order.
 *
 * <p>Called on the thread that received the notification (the rest-hook receiver's HTTP thread,
 * or OkHttp's websocket reader thread), one event at a time per subscription. A listener that
 * throws makes the notification fail (the rest-hook answers 500 and the server retries; the
 * event is offered again).
 */
@FunctionalInterface
public interface SubscriptionListener {
  void onEvent(String subscriptionId, NotificationEvent event);
}
