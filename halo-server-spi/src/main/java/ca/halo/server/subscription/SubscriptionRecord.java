package ca.halo.server.subscription;

import ca.halo.server.security.Principal;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One subscription as a {@link SubscriptionStore} keeps it: what the requester asked for (the
 * accepted Subscription's JSON and what the engine read from it), who holds it, and where its
 * delivery stands. Every node of a SoFA sees the same records; the engine on each node works on
 * one under a lease.
 *
 * <p>Immutable; {@link #toBuilder()} makes a changed copy. {@link #toString()} prints no
 * endpoint, header or principal detail.
 */
public final class SubscriptionRecord {
  /** The channel. */
  public enum Channel { REST_HOOK, WEBSOCKET }

  private final String id;
  private final String ownerKey;
  private final String quotaKey;
  private final Principal subscriber;
  private final String subscriptionJson;
  private final Channel channel;
  private final String endpoint;
  private final List<String> headers;
  private final String payload;
  private final long timeoutSeconds;
  private final long heartbeatSeconds;
  private final int maxCount;
  private final String filterType;
  private final String filterPatient;
  private final String filterLaunch;
  private final String status;
  private final String error;
  private final long lastEvent;
  private final long lastSent;
  private final int failures;
  private final boolean handshakePending;
  private final boolean lapsed;
  private final Instant createdAt;
  private final Instant lastSentAt;
  private final Instant lastProbeAt;
  private final Instant nextAttemptAt;

  private SubscriptionRecord(Builder b) {
    this.id = Objects.requireNonNull(b.id, "id");
    this.ownerKey = Objects.requireNonNull(b.ownerKey, "ownerKey");
    this.quotaKey = Objects.requireNonNull(b.quotaKey, "quotaKey");
    this.subscriber = Objects.requireNonNull(b.subscriber, "subscriber");
    this.subscriptionJson = Objects.requireNonNull(b.subscriptionJson, "subscriptionJson");
    this.channel = Objects.requireNonNull(b.channel, "channel");
    this.endpoint = b.endpoint;
    this.headers = List.copyOf(b.headers);
    this.payload = Objects.requireNonNull(b.payload, "payload");
    this.timeoutSeconds = b.timeoutSeconds;
    this.heartbeatSeconds = b.heartbeatSeconds;
    this.maxCount = b.maxCount;
    this.filterType = b.filterType;
    this.filterPatient = b.filterPatient;
    this.filterLaunch = b.filterLaunch;
    this.status = Objects.requireNonNull(b.status, "status");
    this.error = b.error;
    this.lastEvent = b.lastEvent;
    this.lastSent = b.lastSent;
    this.failures = b.failures;
    this.handshakePending = b.handshakePending;
    this.lapsed = b.lapsed;
    this.createdAt = Objects.requireNonNull(b.createdAt, "createdAt");
    this.lastSentAt = b.lastSentAt;
    this.lastProbeAt = b.lastProbeAt;
    this.nextAttemptAt = b.nextAttemptAt;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.ownerKey = ownerKey;
    b.quotaKey = quotaKey;
    b.subscriber = subscriber;
    b.subscriptionJson = subscriptionJson;
    b.channel = channel;
    b.endpoint = endpoint;
    b.headers = headers;
    b.payload = payload;
    b.timeoutSeconds = timeoutSeconds;
    b.heartbeatSeconds = heartbeatSeconds;
    b.maxCount = maxCount;
    b.filterType = filterType;
    b.filterPatient = filterPatient;
    b.filterLaunch = filterLaunch;
    b.status = status;
    b.error = error;
    b.lastEvent = lastEvent;
    b.lastSent = lastSent;
    b.failures = failures;
    b.handshakePending = handshakePending;
    b.lapsed = lapsed;
    b.createdAt = createdAt;
    b.lastSentAt = lastSentAt;
    b.lastProbeAt = lastProbeAt;
    b.nextAttemptAt = nextAttemptAt;
    return b;
  }

  /** A FHIR id: 24 hex digits. */
  public String id() { return id; }
  /** Client, user and launch session of the principal that made it ({@link Principal#ownerKey}). */
  public String ownerKey() { return ownerKey; }
  /** Whose quota and delivery lane it counts against: a user, or a client without one. */
  public String quotaKey() { return quotaKey; }
  /** The principal notifications are judged for (renewed by each use of its owner). */
  public Principal subscriber() { return subscriber; }
  /** The Subscription as accepted (FHIR JSON), without id, status and error. */
  public String subscriptionJson() { return subscriptionJson; }
  public Channel channel() { return channel; }
  public Optional<String> endpoint() { return Optional.ofNullable(endpoint); }
  /** {@code Name: value} lines a rest-hook sends. */
  public List<String> headers() { return headers; }
  /** {@code empty}, {@code id-only} or {@code full-resource}. */
  public String payload() { return payload; }
  public long timeoutSeconds() { return timeoutSeconds; }
  /** 0 for none. */
  public long heartbeatSeconds() { return heartbeatSeconds; }
  public int maxCount() { return maxCount; }
  public Optional<String> filterType() { return Optional.ofNullable(filterType); }
  /** {@code Patient/123}. */
  public Optional<String> filterPatient() { return Optional.ofNullable(filterPatient); }
  public Optional<String> filterLaunch() { return Optional.ofNullable(filterLaunch); }
  /** The Subscription status code: requested, active, error, off. */
  public String status() { return status; }
  public Optional<String> error() { return Optional.ofNullable(error); }
  /** The newest event's number (0 before the first). */
  public long lastEvent() { return lastEvent; }
  /** The newest event number delivered (the consumer acknowledged it). */
  public long lastSent() { return lastSent; }
  /** Failed attempts in a row. */
  public int failures() { return failures; }
  public boolean handshakePending() { return handshakePending; }
  /** The subscriber's authorization lapsed: nothing is numbered or sent until its owner renews it. */
  public boolean lapsed() { return lapsed; }
  public Instant createdAt() { return createdAt; }
  public Optional<Instant> lastSentAt() { return Optional.ofNullable(lastSentAt); }
  public Optional<Instant> lastProbeAt() { return Optional.ofNullable(lastProbeAt); }
  /** Not before this instant (a retry's backoff); empty when free to go. */
  public Optional<Instant> nextAttemptAt() { return Optional.ofNullable(nextAttemptAt); }

  public boolean restHook() {
    return channel == Channel.REST_HOOK;
  }

  /**
   * Whether a node has work for it at {@code now}: a handshake, events to deliver while active, or
   * a heartbeat due (an active subscription quiet for half its period, an endpoint in error probed
   * no more often than {@code probeEvery}). A websocket subscription's deliveries need a socket,
   * which only the node holding it knows: the store answers for rest-hooks, nodes for their sockets.
   */
  public boolean due(Instant now, java.time.Duration probeEvery) {
    if (lapsed || status.equals("off") || (nextAttemptAt != null && now.isBefore(nextAttemptAt))) {
      return false;
    }
    if (restHook() && handshakePending) {
      return true;
    }
    if (status.equals("active") && lastSent < lastEvent) {
      return true;
    }
    if (heartbeatSeconds > 0) {
      Instant quietSince = lastSentAt == null ? createdAt : lastSentAt;
      if (status.equals("active") && !now.isBefore(quietSince.plusSeconds(heartbeatSeconds))) {
        return true;
      }
      Instant probed = lastProbeAt == null ? createdAt : lastProbeAt;
      return status.equals("error") && restHook()
          && !now.isBefore(probed.plusSeconds(heartbeatSeconds)) && !now.isBefore(probed.plus(probeEvery));
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SubscriptionRecord)) {
      return false;
    }
    SubscriptionRecord r = (SubscriptionRecord) o;
    return id.equals(r.id) && ownerKey.equals(r.ownerKey) && subscriptionJson.equals(r.subscriptionJson)
        && status.equals(r.status) && Objects.equals(error, r.error) && lastEvent == r.lastEvent
        && lastSent == r.lastSent && failures == r.failures && handshakePending == r.handshakePending
        && lapsed == r.lapsed && Objects.equals(nextAttemptAt, r.nextAttemptAt)
        && Objects.equals(lastSentAt, r.lastSentAt) && Objects.equals(lastProbeAt, r.lastProbeAt)
        && subscriber.equals(r.subscriber);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, status, lastEvent, lastSent);
  }

  @Override
  public String toString() {
    return "SubscriptionRecord{id=" + id + ", " + channel + ", status=" + status + ", events="
        + lastSent + "/" + lastEvent + "}";
  }

  /** Builds a {@link SubscriptionRecord}. */
  public static final class Builder {
    private String id;
    private String ownerKey;
    private String quotaKey;
    private Principal subscriber;
    private String subscriptionJson;
    private Channel channel;
    private String endpoint;
    private List<String> headers = List.of();
    private String payload = "id-only";
    private long timeoutSeconds = 10;
    private long heartbeatSeconds;
    private int maxCount = 50;
    private String filterType;
    private String filterPatient;
    private String filterLaunch;
    private String status = "requested";
    private String error;
    private long lastEvent;
    private long lastSent;
    private int failures;
    private boolean handshakePending;
    private boolean lapsed;
    private Instant createdAt;
    private Instant lastSentAt;
    private Instant lastProbeAt;
    private Instant nextAttemptAt;

    private Builder() {}

    public Builder id(String v) { this.id = v; return this; }
    public Builder ownerKey(String v) { this.ownerKey = v; return this; }
    public Builder quotaKey(String v) { this.quotaKey = v; return this; }
    public Builder subscriber(Principal v) { this.subscriber = v; return this; }
    public Builder subscriptionJson(String v) { this.subscriptionJson = v; return this; }
    public Builder channel(Channel v) { this.channel = v; return this; }
    public Builder endpoint(String v) { this.endpoint = v; return this; }
    public Builder headers(List<String> v) { this.headers = List.copyOf(v); return this; }
    public Builder payload(String v) { this.payload = v; return this; }
    public Builder timeoutSeconds(long v) { this.timeoutSeconds = v; return this; }
    public Builder heartbeatSeconds(long v) { this.heartbeatSeconds = v; return this; }
    public Builder maxCount(int v) { this.maxCount = v; return this; }
    public Builder filterType(String v) { this.filterType = v; return this; }
    public Builder filterPatient(String v) { this.filterPatient = v; return this; }
    public Builder filterLaunch(String v) { this.filterLaunch = v; return this; }
    public Builder status(String v) { this.status = v; return this; }
    public Builder error(String v) { this.error = v; return this; }
    public Builder lastEvent(long v) { this.lastEvent = v; return this; }
    public Builder lastSent(long v) { this.lastSent = v; return this; }
    public Builder failures(int v) { this.failures = v; return this; }
    public Builder handshakePending(boolean v) { this.handshakePending = v; return this; }
    public Builder lapsed(boolean v) { this.lapsed = v; return this; }
    public Builder createdAt(Instant v) { this.createdAt = v; return this; }
    public Builder lastSentAt(Instant v) { this.lastSentAt = v; return this; }
    public Builder lastProbeAt(Instant v) { this.lastProbeAt = v; return this; }
    public Builder nextAttemptAt(Instant v) { this.nextAttemptAt = v; return this; }

    public SubscriptionRecord build() {
      return new SubscriptionRecord(this);
    }
  }
}
