package ca.halo.core.subscription;

import ca.halo.core.HaloParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;

/**
 * A subscription notification as the Backport IG carries it on R4: a {@code history} Bundle whose
 * first entry is a {@code Parameters} SubscriptionStatus (subscription, topic, status, type,
 * events-since-subscription-start, notification-event parts, error), followed by the focus
 * resources as the payload allows.
 *
 * <pre>{@code
 * SubscriptionNotification n = SubscriptionNotification.parse(bundle);
 * for (NotificationEvent e : n.events()) { ... }
 * Bundle wire = n.toBundle();
 * }</pre>
 *
 * <p>Immutable and thread-safe. Used by both the Notification Producer and the Consumer.
 *
 * <p>Spec: Backport IG backport-subscription-notification-r4 and
 * backport-subscription-status-r4; HALO CA:FSub.
 */
public final class SubscriptionNotification {
  private static final String WHAT = "subscription notification";
  private static final java.util.regex.Pattern FOCUS_TYPE =
      java.util.regex.Pattern.compile("[A-Z][A-Za-z]{0,63}");
  /** FHIR id: 1 to 64 of letters, digits, '-' and '.'. */
  private static final java.util.regex.Pattern FOCUS_ID =
      java.util.regex.Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

  private final String subscription;
  private final String topic;
  private final String status;
  private final NotificationType type;
  private final long eventsSinceSubscriptionStart;
  private final List<NotificationEvent> events;
  private final String error;
  private final PayloadContent payload;

  private SubscriptionNotification(Builder b) {
    this.subscription = Objects.requireNonNull(b.subscription, "subscription");
    this.topic = b.topic;
    this.status = b.status;
    this.type = Objects.requireNonNull(b.type, "type");
    this.eventsSinceSubscriptionStart = b.eventsSince;
    this.events = List.copyOf(b.events);
    this.error = b.error;
    this.payload = b.payload;
  }

  public static Builder builder(String subscription, NotificationType type) {
    Builder b = new Builder();
    b.subscription = subscription;
    b.type = type;
    return b;
  }

  /** {@code Subscription/id}. */
  public String subscription() { return subscription; }
  public Optional<String> topic() { return Optional.ofNullable(topic); }
  /** The subscription's status when sent ({@code active}, {@code error}, ...). */
  public Optional<String> status() { return Optional.ofNullable(status); }
  public NotificationType type() { return type; }
  /** The number of the newest event of the subscription when this was sent. */
  public long eventsSinceSubscriptionStart() { return eventsSinceSubscriptionStart; }
  public List<NotificationEvent> events() { return events; }
  public Optional<String> error() { return Optional.ofNullable(error); }

  /** The R4 Bundle of this notification. */
  public Bundle toBundle() {
    Parameters st = new Parameters();
    st.getMeta().addProfile(Backport.STATUS_PROFILE);
    st.addParameter().setName("subscription").setValue(new Reference(subscription));
    if (topic != null) {
      st.addParameter().setName("topic").setValue(new CanonicalType(topic));
    }
    if (status != null) {
      st.addParameter().setName("status").setValue(new CodeType(status));
    }
    st.addParameter().setName("type").setValue(new CodeType(type.code()));
    st.addParameter().setName("events-since-subscription-start")
        .setValue(new StringType(Long.toString(eventsSinceSubscriptionStart)));
    for (NotificationEvent e : events) {
      ParametersParameterComponent ne = st.addParameter().setName("notification-event");
      ne.addPart().setName("event-number").setValue(new StringType(Long.toString(e.number())));
      e.timestamp().ifPresent(t -> ne.addPart().setName("timestamp")
          .setValue(new InstantType(Date.from(t))));
      if (payload != PayloadContent.EMPTY) {
        e.focus().ifPresent(f -> ne.addPart().setName("focus").setValue(new Reference(f)));
      }
    }
    if (error != null) {
      st.addParameter().setName("error").setValue(new StringType(error));
    }
    Bundle b = new Bundle().setType(Bundle.BundleType.HISTORY);
    b.getMeta().addProfile(Backport.NOTIFICATION_PROFILE);
    b.setTimestamp(new Date());
    b.addEntry().setFullUrl("urn:uuid:" + java.util.UUID.randomUUID()).setResource(st)
        .getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl(subscription + "/$status");
    if (payload != PayloadContent.EMPTY) {
      for (NotificationEvent e : events) {
        if (e.focus().isEmpty()) {
          continue;
        }
        Bundle.BundleEntryComponent entry = b.addEntry().setFullUrl(e.focus().get());
        if (payload == PayloadContent.FULL_RESOURCE && e.resource().isPresent()) {
          entry.setResource(e.resource().get());
        }
        entry.getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(e.focus().get());
        entry.getResponse().setStatus("200");
      }
    }
    return b;
  }

  /**
   * Reads a notification Bundle.
   *
   * @throws HaloParseException if it is not a history Bundle led by a SubscriptionStatus, a
   *     required part is missing, a number is not a whole number (event numbers start at 1,
   *     events-since is not negative), or a focus is not a {@code Type/id} reference
   */
  public static SubscriptionNotification parse(Bundle b) {
    if (b == null || b.getType() != Bundle.BundleType.HISTORY) {
      throw new HaloParseException(WHAT + ": expected a Bundle of type history");
    }
    if (b.getEntry().isEmpty() || !(b.getEntryFirstRep().getResource() instanceof Parameters)) {
      throw new HaloParseException(WHAT + ": the first entry must be a Parameters SubscriptionStatus");
    }
    Parameters st = (Parameters) b.getEntryFirstRep().getResource();
    Builder nb = new Builder();
    for (ParametersParameterComponent p : st.getParameter()) {
      switch (String.valueOf(p.getName())) {
        case "subscription":
          nb.subscription = p.getValue() instanceof Reference ? ((Reference) p.getValue()).getReference() : null;
          break;
        case "topic":
          nb.topic = p.getValue() == null ? null : p.getValue().primitiveValue();
          break;
        case "status":
          nb.status = p.getValue() == null ? null : p.getValue().primitiveValue();
          break;
        case "type":
          String code = p.getValue() == null ? null : p.getValue().primitiveValue();
          if (code == null || code.isBlank()) {
            throw new HaloParseException(WHAT + ": 'type' must be a code");
          }
          nb.type = NotificationType.of(code);
          break;
        case "events-since-subscription-start":
          nb.eventsSince = number(p, "events-since-subscription-start");
          break;
        case "error":
          nb.error = p.getValue() == null ? null : p.getValue().primitiveValue();
          break;
        default:
          break;
      }
    }
    if (nb.subscription == null || nb.subscription.isBlank() || nb.type == null) {
      throw new HaloParseException(WHAT + ": SubscriptionStatus needs 'subscription' and 'type'");
    }
    Map<String, Resource> focusResources = new HashMap<>();
    for (int i = 1; i < b.getEntry().size(); i++) {
      Bundle.BundleEntryComponent e = b.getEntry().get(i);
      if (e.getResource() != null && e.getResource().getIdElement().hasIdPart()) {
        focusResources.put(e.getResource().fhirType() + "/" + e.getResource().getIdElement().getIdPart(),
            e.getResource());
      }
    }
    for (ParametersParameterComponent p : st.getParameter()) {
      if (!"notification-event".equals(p.getName())) {
        continue;
      }
      Long num = null;
      Instant ts = null;
      String focus = null;
      for (ParametersParameterComponent part : p.getPart()) {
        switch (String.valueOf(part.getName())) {
          case "event-number":
            num = number(part, "event-number");
            if (num < 1) {
              throw new HaloParseException(WHAT + ": 'event-number' must be 1 or more");
            }
            break;
          case "timestamp":
            // an instant without a value (only extensions) counts as absent
            ts = part.getValue() instanceof InstantType && ((InstantType) part.getValue()).hasValue()
                ? ((InstantType) part.getValue()).getValue().toInstant() : null;
            break;
          case "focus":
            focus = part.getValue() instanceof Reference ? ((Reference) part.getValue()).getReference() : null;
            break;
          default:
            break;
        }
      }
      if (num == null) {
        throw new HaloParseException(WHAT + ": notification-event without event-number");
      }
      String f = focus == null ? null : stripBase(focus);
      nb.events.add(new NotificationEvent(num, ts, f, f == null ? null : focusResources.get(f)));
    }
    nb.payload = PayloadContent.FULL_RESOURCE;
    return nb.build();
  }

  /** {@code Type/id} of a relative, absolute or versioned reference; strict on its shape. */
  private static String stripBase(String ref) {
    String[] p = ref.split("/");
    int h = java.util.Arrays.asList(p).indexOf("_history");
    int end = h > 0 ? h : p.length;
    if (end < 2 || !FOCUS_TYPE.matcher(p[end - 2]).matches()
        || !FOCUS_ID.matcher(p[end - 1]).matches()) {
      throw new HaloParseException(WHAT + ": notification-event 'focus' must reference a"
          + " resource as Type/id");
    }
    return p[end - 2] + "/" + p[end - 1];
  }

  private static long number(ParametersParameterComponent p, String name) {
    String text = p.getValue() == null ? null : p.getValue().primitiveValue();
    long n;
    try {
      n = Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new HaloParseException(WHAT + ": '" + name + "' must be a whole number");
    }
    if (n < 0) {
      throw new HaloParseException(WHAT + ": '" + name + "' must not be negative");
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SubscriptionNotification)) {
      return false;
    }
    SubscriptionNotification n = (SubscriptionNotification) o;
    return subscription.equals(n.subscription) && Objects.equals(topic, n.topic)
        && Objects.equals(status, n.status) && type.equals(n.type)
        && eventsSinceSubscriptionStart == n.eventsSinceSubscriptionStart
        && events.equals(n.events) && Objects.equals(error, n.error);
  }

  @Override
  public int hashCode() {
    return Objects.hash(subscription, type, eventsSinceSubscriptionStart, events);
  }

  @Override
  public String toString() {
    return "SubscriptionNotification{" + subscription + ", " + type + ", since="
        + eventsSinceSubscriptionStart + ", events=" + events.size() + "}";
  }

  /** Builds a {@link SubscriptionNotification}. */
  public static final class Builder {
    private String subscription;
    private String topic;
    private String status;
    private NotificationType type;
    private long eventsSince;
    private final List<NotificationEvent> events = new ArrayList<>();
    private String error;
    private PayloadContent payload = PayloadContent.ID_ONLY;

    private Builder() {}

    public Builder topic(String v) { this.topic = v; return this; }
    public Builder status(String v) { this.status = v; return this; }
    public Builder eventsSinceSubscriptionStart(long v) { this.eventsSince = v; return this; }
    public Builder addEvent(NotificationEvent e) { this.events.add(Objects.requireNonNull(e)); return this; }
    public Builder error(String v) { this.error = v; return this; }
    /** What {@link SubscriptionNotification#toBundle()} includes of the focus. Default id-only. */
    public Builder payload(PayloadContent v) { this.payload = Objects.requireNonNull(v); return this; }

    public SubscriptionNotification build() {
      return new SubscriptionNotification(this);
    }
  }
}
