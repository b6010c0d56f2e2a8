package ca.halo.core.subscription;

import java.util.Objects;

/**
 * The {@code type} of a subscription notification. An open value class: the constants are those
 * of the Backport IG; {@link #of(String)} accepts others.
 */
public final class NotificationType {
  public static final NotificationType HANDSHAKE = new NotificationType("handshake");
  public static final NotificationType HEARTBEAT = new NotificationType("heartbeat");
  public static final NotificationType EVENT_NOTIFICATION = new NotificationType("event-notification");
  public static final NotificationType QUERY_STATUS = new NotificationType("query-status");
  public static final NotificationType QUERY_EVENT = new NotificationType("query-event");

  private final String code;

  private NotificationType(String code) {
    this.code = code;
  }

  public static NotificationType of(String code) {
    Objects.requireNonNull(code, "code");
    return new NotificationType(code);
  }

  public String code() {
    return code;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NotificationType && ((NotificationType) o).code.equals(code);
  }

  @Override
  public int hashCode() {
    return code.hashCode();
  }

  @Override
  public String toString() {
    return code;
  }
}
