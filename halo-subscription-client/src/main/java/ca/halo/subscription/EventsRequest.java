package ca.halo.subscription;

import ca.halo.core.subscription.PayloadContent;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The inputs of {@code $events}: which subscription, which event numbers, and how much of the
 * focus resources to carry.
 *
 * <pre>{@code
 * SubscriptionNotification missed = subs.events(EventsRequest.builder(subscriptionId)
 *     .since(5).until(9).content(PayloadContent.ID_ONLY).build());
 * }</pre>
 *
 * <p>Immutable and thread-safe. Subscriptions Backport IG, {@code $events}
 * ({@code eventsSinceNumber}, {@code eventsUntilNumber}, {@code content}).
 */
public final class EventsRequest {
  private final String subscriptionId;
  private final Long since;
  private final Long until;
  private final PayloadContent content;

  private EventsRequest(Builder b) {
    this.subscriptionId = b.subscriptionId;
    this.since = b.since;
    this.until = b.until;
    this.content = b.content;
  }

  /** A request for the events of {@code Subscription/subscriptionId}; all numbers by default. */
  public static Builder builder(String subscriptionId) {
    return new Builder(subscriptionId);
  }

  /** The logical id of the subscription (without {@code Subscription/}). */
  public String subscriptionId() {
    return subscriptionId;
  }

  /** The first event number wanted ({@code eventsSinceNumber}), inclusive; empty: from the start. */
  public OptionalLong since() {
    return since == null ? OptionalLong.empty() : OptionalLong.of(since);
  }

  /** The last event number wanted ({@code eventsUntilNumber}), inclusive; empty: to the newest. */
  public OptionalLong until() {
    return until == null ? OptionalLong.empty() : OptionalLong.of(until);
  }

  /** The payload content asked for; empty: the subscription's own. */
  public Optional<PayloadContent> content() {
    return Optional.ofNullable(content);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof EventsRequest)) {
      return false;
    }
    EventsRequest r = (EventsRequest) o;
    return r.subscriptionId.equals(subscriptionId) && Objects.equals(r.since, since)
        && Objects.equals(r.until, until) && r.content == content;
  }

  @Override
  public int hashCode() {
    return Objects.hash(subscriptionId, since, until, content);
  }

  @Override
  public String toString() {
    return "EventsRequest{Subscription/" + subscriptionId + ", since=" + since + ", until="
        + until + ", content=" + (content == null ? null : content.code()) + "}";
  }

  /** Builds an {@link EventsRequest}; {@link #build()} checks the numbers. */
  public static final class Builder {
    private final String subscriptionId;
    private Long since;
    private Long until;
    private PayloadContent content;

    private Builder(String subscriptionId) {
      this.subscriptionId = Objects.requireNonNull(subscriptionId, "subscriptionId");
    }

    /** The first event number wanted, inclusive (at least 1). */
    public Builder since(long v) {
      this.since = v;
      return this;
    }

    /** The last event number wanted, inclusive. */
    public Builder until(long v) {
      this.until = v;
      return this;
    }

    public Builder content(PayloadContent v) {
      this.content = Objects.requireNonNull(v, "content");
      return this;
    }

    /** @throws IllegalStateException if a number is below 1 or since is after until */
    public EventsRequest build() {
      if (subscriptionId.isBlank()) {
        throw new IllegalStateException("subscriptionId must not be blank");
      }
      if (since != null && since < 1 || until != null && until < 1) {
        throw new IllegalStateException("event numbers start at 1");
      }
      if (since != null && until != null && since > until) {
        throw new IllegalStateException("since (" + since + ") is after until (" + until + ")");
      }
      return new EventsRequest(this);
    }
  }
}
