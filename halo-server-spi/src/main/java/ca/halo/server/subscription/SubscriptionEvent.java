package ca.halo.server.subscription;

import java.time.Instant;
import java.util.Objects;

/**
 * One numbered event of a subscription as its store keeps it: the number (1, 2, 3, ... gap-free
 * per subscription, whichever node numbered it), when, and the resource that changed
 * ({@code Type/id}). Immutable.
 */
public final class SubscriptionEvent {
  private final long number;
  private final Instant timestamp;
  private final String focus;

  public SubscriptionEvent(long number, Instant timestamp, String focus) {
    if (number < 1) {
      throw new IllegalArgumentException("event numbers start at 1");
    }
    this.number = number;
    this.timestamp = Objects.requireNonNull(timestamp, "timestamp");
    this.focus = Objects.requireNonNull(focus, "focus");
  }

  public long number() { return number; }
  public Instant timestamp() { return timestamp; }
  /** {@code Type/id}. */
  public String focus() { return focus; }

  @Override
  public boolean equals(Object o) {
    return o instanceof SubscriptionEvent && ((SubscriptionEvent) o).number == number
        && ((SubscriptionEvent) o).timestamp.equals(timestamp) && ((SubscriptionEvent) o).focus.equals(focus);
  }

  @Override
  public int hashCode() {
    return Objects.hash(number, timestamp, focus);
  }

  @Override
  public String toString() {
    return "SubscriptionEvent{#" + number + ", " + focus + "}";
  }
}
