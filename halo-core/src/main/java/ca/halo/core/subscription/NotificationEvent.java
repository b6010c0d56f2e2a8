package ca.halo.core.subscription;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Resource;

/**
 * One event of a subscription: its number (1, 2, 3, ... per subscription), when it happened, the
 * resource that changed ({@code focus}, as {@code Type/id}) and, with full-resource payloads, the
 * resource itself.
 *
 * <p>Immutable; {@link #resource()} returns a copy. {@link #toString()} prints no resource body.
 */
public final class NotificationEvent {
  private final long number;
  private final Instant timestamp;
  private final String focus;
  private final Resource resource;

  public NotificationEvent(long number, Instant timestamp, String focus, Resource resource) {
    if (number < 1) {
      throw new IllegalArgumentException("event numbers start at 1");
    }
    this.number = number;
    this.timestamp = timestamp;
    this.focus = focus;
    this.resource = resource == null ? null : resource.copy();
  }

  public long number() { return number; }
  public Optional<Instant> timestamp() { return Optional.ofNullable(timestamp); }
  /** {@code Type/id} of the changed resource; empty with empty payloads. */
  public Optional<String> focus() { return Optional.ofNullable(focus); }
  public Optional<Resource> resource() { return Optional.ofNullable(resource == null ? null : resource.copy()); }

  /** The same event carrying {@code r} (after the consumer fetched an id-only focus). */
  public NotificationEvent withResource(Resource r) {
    return new NotificationEvent(number, timestamp, focus, r);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NotificationEvent && ((NotificationEvent) o).number == number
        && Objects.equals(((NotificationEvent) o).focus, focus)
        && Objects.equals(((NotificationEvent) o).timestamp, timestamp);
  }

  @Override
  public int hashCode() {
    return Objects.hash(number, focus, timestamp);
  }

  @Override
  public String toString() {
    return "NotificationEvent{#" + number + ", focus=" + focus + "}";
  }
}
