package ca.halo.subscription;

import ca.halo.core.subscription.Backport;
import ca.halo.core.subscription.PayloadContent;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.PositiveIntType;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UnsignedIntType;

/**
 * A topic-based Subscription for HALO's "SOFA Content Update" topic, as the Backport IG writes it
 * on R4: filters, channel (rest-hook or websocket), payload content, heartbeat, timeout and max
 * count.
 *
 * <pre>{@code
 * SubscriptionRequest req = SubscriptionRequest.restHook(URI.create("https://emr.example/hook"))
 *     .header("Authorization", "Bearer " + hookSecret)
 *     .launch(launchId).resourceType("Observation")
 *     .payload(PayloadContent.ID_ONLY).heartbeatPeriod(Duration.ofMinutes(1))
 *     .build();
 * }</pre>
 *
 * <p>Immutable. Spec: Backport IG backport-subscription; HALO CA:FSub (filters patient, launch,
 * resource-type).
 */
public final class SubscriptionRequest {
  private final Builder b;

  private SubscriptionRequest(Builder b) {
    this.b = b.copy();
  }

  public static Builder restHook(URI endpoint) {
    Builder b = new Builder();
    b.type = Subscription.SubscriptionChannelType.RESTHOOK;
    b.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    return b;
  }

  public static Builder websocket() {
    Builder b = new Builder();
    b.type = Subscription.SubscriptionChannelType.WEBSOCKET;
    return b;
  }

  public PayloadContent payload() {
    return b.payload;
  }

  public boolean isWebsocket() {
    return b.type == Subscription.SubscriptionChannelType.WEBSOCKET;
  }

  /** The R4 Subscription with backport extensions. */
  public Subscription toSubscription() {
    Subscription s = new Subscription();
    s.getMeta().addProfile(Backport.SUBSCRIPTION_PROFILE);
    s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
    s.setReason(b.reason);
    s.setCriteria(b.topic);
    StringBuilder f = new StringBuilder();
    if (b.resourceType != null) {
      f.append(b.resourceType);
    }
    f.append('?');
    List<String> params = new ArrayList<>();
    if (b.patient != null) {
      params.add("patient=" + enc(b.patient));
    }
    if (b.launch != null) {
      params.add("launch=" + enc(b.launch));
    }
    f.append(String.join("&", params));
    if (b.resourceType != null || !params.isEmpty()) {
      s.getCriteriaElement().addExtension(Backport.FILTER_CRITERIA, new StringType(f.toString()));
    }
    Subscription.SubscriptionChannelComponent ch = s.getChannel();
    ch.setType(b.type);
    if (b.endpoint != null) {
      ch.setEndpoint(b.endpoint.toString());
    }
    ch.setPayload("application/fhir+json");
    ch.getPayloadElement().addExtension(Backport.PAYLOAD_CONTENT, new CodeType(b.payload.code()));
    for (String h : b.headers) {
      ch.addHeader(h);
    }
    if (b.heartbeat != null) {
      ch.addExtension(new Extension(Backport.HEARTBEAT_PERIOD,
          new UnsignedIntType(b.heartbeat.getSeconds())));
    }
    if (b.timeout != null) {
      ch.addExtension(new Extension(Backport.TIMEOUT, new UnsignedIntType(b.timeout.getSeconds())));
    }
    if (b.maxCount != null) {
      ch.addExtension(new Extension(Backport.MAX_COUNT, new PositiveIntType(b.maxCount)));
    }
    return s;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("%2F", "/");
  }

  @Override
  public String toString() {
    return "SubscriptionRequest{" + b.type + ", payload=" + b.payload.code() + "}";
  }

  /** Builds a {@link SubscriptionRequest}. */
  public static final class Builder {
    private Subscription.SubscriptionChannelType type;
    private URI endpoint;
    private String topic = Backport.HALO_TOPIC;
    private String reason = "HALO SoFA content updates";
    private String patient;
    private String launch;
    private String resourceType;
    private PayloadContent payload = PayloadContent.ID_ONLY;
    private final List<String> headers = new ArrayList<>();
    private Duration heartbeat;
    private Duration timeout;
    private Integer maxCount;

    private Builder() {}

    Builder copy() {
      Builder c = new Builder();
      c.type = type;
      c.endpoint = endpoint;
      c.topic = topic;
      c.reason = reason;
      c.patient = patient;
      c.launch = launch;
      c.resourceType = resourceType;
      c.payload = payload;
      c.headers.addAll(headers);
      c.heartbeat = heartbeat;
      c.timeout = timeout;
      c.maxCount = maxCount;
      return c;
    }

    public Builder topic(String v) { this.topic = Objects.requireNonNull(v); return this; }
    public Builder reason(String v) { this.reason = Objects.requireNonNull(v); return this; }
    /** Only changes in this patient's compartment ({@code Patient/123} or {@code 123}). */
    public Builder patient(String v) { this.patient = Objects.requireNonNull(v); return this; }
    /** Only changes of this launch's session. */
    public Builder launch(String launchId) { this.launch = Objects.requireNonNull(launchId); return this; }
    public Builder resourceType(String v) { this.resourceType = Objects.requireNonNull(v); return this; }
    public Builder payload(PayloadContent v) { this.payload = Objects.requireNonNull(v); return this; }

    /** A header the server sends with every rest-hook post, e.g. a shared secret. */
    public Builder header(String name, String value) {
      if (name.isBlank() || name.contains(":") || value.contains("\n")) {
        throw new IllegalArgumentException("header name must be non-blank without ':' and value one line");
      }
      this.headers.add(name + ": " + value);
      return this;
    }

    public Builder heartbeatPeriod(Duration v) { this.heartbeat = Objects.requireNonNull(v); return this; }
    public Builder timeout(Duration v) { this.timeout = Objects.requireNonNull(v); return this; }
    public Builder maxCount(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("maxCount must be positive");
      }
      this.maxCount = v;
      return this;
    }

    public SubscriptionRequest build() {
      if (type == Subscription.SubscriptionChannelType.RESTHOOK && !endpoint.isAbsolute()) {
        throw new IllegalStateException("the rest-hook endpoint must be an absolute URL");
      }
      if (type == Subscription.SubscriptionChannelType.WEBSOCKET && !headers.isEmpty()) {
        throw new IllegalStateException("headers apply to rest-hook channels only");
      }
      return new SubscriptionRequest(this);
    }
  }
}
