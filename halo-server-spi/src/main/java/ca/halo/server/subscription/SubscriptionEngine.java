package ca.halo.server.subscription;

import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.http.SecureTransportInterceptor;
import ca.halo.core.subscription.Backport;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.server.audit.AuditSink;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.PatientCompartment;
import ca.halo.server.internal.Audits;
import ca.halo.server.internal.ExpiringMap;
import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UrlType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Subscription Manager and Notification Producer of CA:FSub on R4 with the R5 Backport:
 * accepts topic-based Subscriptions for the "SOFA Content Update" topic, numbers every matching
 * change, and delivers notifications by rest-hook (with retries, exponential backoff and
 * heartbeats) and websocket (binding tokens), with {@code $status} and {@code $events} for
 * recovery.
 *
 * <p>Delivery is at least once and in order per subscription. A rest-hook subscription whose
 * endpoint keeps failing goes to {@code error} but keeps numbering its events; heartbeats keep
 * probing the endpoint, and the first that succeeds returns it to {@code active} and resumes
 * delivery where it stopped. Events are kept for {@code retention} (default 24 h, at most
 * {@code maxEventsPerSubscription}) so a consumer can always fill a gap with {@code $events}.
 *
 * <p>Thread-safe. Deliveries and heartbeats run on {@code halo-subscriptions-N} threads, stopped
 * by {@link #close()}. No servlet types: {@code SofaServer} mounts it on HAPI and Jetty.
 *
 * <p>Spec: Subscriptions R5 Backport IG (R4 profiles), HALO CA:FSub and our decisions (topic
 * canonical, filters patient/launch/resource-type, default payload id-only).
 */
public final class SubscriptionEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionEngine.class);
  private static final MediaType FHIR_JSON = MediaType.get("application/fhir+json; charset=utf-8");

  private final FhirContext ctx;
  private final Clock clock;
  private final LaunchContextStore contexts;
  private final FhirResourceRepository repository;
  private final AuditSink audit;
  private final HaloHttp http;
  private final String topic;
  private final Duration retention;
  private final int maxEventsPerSubscription;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final boolean allowInsecureEndpoints;
  private final ScheduledExecutorService executor;
  private final Map<String, Sub> subs = new ConcurrentHashMap<>();
  private final ExpiringMap<String, String> bindingTokens;
  private final SecureRandom random = new SecureRandom();
  private volatile URI websocketUrl;
  private final AtomicLong delivered = new AtomicLong();

  private record StoredEvent(long number, Instant timestamp, String focus) {}

  /** Per subscription state; guarded by its own monitor. */
  private final class Sub {
    final String id;
    final String owner;
    Subscription resource;
    Filters filters;
    PayloadContent payload;
    OkHttpClient client;
    long lastEvent;
    long lastSent;
    int failures;
    boolean delivering;
    Instant lastSentAt = Instant.EPOCH;
    ScheduledFuture<?> heartbeat;
    final Deque<StoredEvent> events = new ArrayDeque<>();
    final List<WebSocketSink> sinks = new CopyOnWriteArrayList<>();

    Sub(String id, String owner) {
      this.id = id;
      this.owner = owner;
    }

    String ref() {
      return "Subscription/" + id;
    }

    boolean restHook() {
      return resource.getChannel().getType() == Subscription.SubscriptionChannelType.RESTHOOK;
    }
  }

  /** Parsed filters: resource type, patient and launch; all optional. */
  record Filters(String resourceType, String patient, String launch) {}

  private SubscriptionEngine(Builder b) {
    this.ctx = b.ctx;
    this.clock = b.clock;
    this.contexts = b.contexts;
    this.repository = b.repository;
    this.audit = b.audit;
    this.http = b.http;
    this.topic = b.topic;
    this.retention = b.retention;
    this.maxEventsPerSubscription = b.maxEventsPerSubscription;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.allowInsecureEndpoints = b.allowInsecureEndpoints;
    this.bindingTokens = new ExpiringMap<>(100_000, clock);
    AtomicLong n = new AtomicLong();
    this.executor = Executors.newScheduledThreadPool(b.threads, r -> {
      Thread t = new Thread(r, "halo-subscriptions-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public static Builder builder(FhirContext ctx, LaunchContextStore contexts,
      FhirResourceRepository repository, HaloHttp http) {
    return new Builder(ctx, contexts, repository, http);
  }

  public String topic() {
    return topic;
  }

  /** Where websocket consumers connect; set by the server that mounts the endpoint. */
  public void websocketUrl(URI url) {
    this.websocketUrl = url;
  }

  /** Notifications delivered so far (rest-hook posts and websocket frames). */
  public long deliveredCount() {
    return delivered.get();
  }

  // ------------------------------------------------------------------ Subscription CRUD

  /**
   * Accepts a Subscription: checks topic, filters, channel and endpoint; answers it with an id and
   * status {@code requested} (rest-hook: {@code active} after a successful handshake, done in the
   * background) or {@code active} (websocket: the handshake comes at bind).
   */
  public Subscription create(Subscription s, String owner) {
    Subscription copy = s.copy();
    byte[] idBytes = new byte[12];
    random.nextBytes(idBytes);
    Sub sub = new Sub(java.util.HexFormat.of().formatHex(idBytes), owner); // a valid FHIR id
    configure(sub, copy);
    subs.put(sub.id, sub);
    afterConfigure(sub);
    Audits.record(audit, "subscription-create", AuditEventAction.C, true, owner, null,
        sub.ref(), clock.instant());
    return read(sub.id, owner);
  }

  /** Replaces a subscription's settings; event numbers carry on. Status requested re-handshakes. */
  public Subscription update(String id, Subscription s, String owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      configure(sub, s.copy());
      sub.failures = 0;
    }
    afterConfigure(sub);
    return read(id, owner);
  }

  public Subscription read(String id, String owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      Subscription out = sub.resource.copy();
      out.setId(sub.id);
      return out;
    }
  }

  public List<Subscription> list(String owner) {
    List<Subscription> out = new ArrayList<>();
    for (Sub s : subs.values()) {
      if (s.owner.equals(owner)) {
        out.add(read(s.id, owner));
      }
    }
    return out;
  }

  public void delete(String id, String owner) {
    Sub sub = owned(id, owner);
    subs.remove(id);
    synchronized (sub) {
      if (sub.heartbeat != null) {
        sub.heartbeat.cancel(false);
      }
      sub.resource.setStatus(Subscription.SubscriptionStatus.OFF);
    }
    for (WebSocketSink w : sub.sinks) {
      w.close(1000, "subscription deleted");
    }
  }

  private Sub owned(String id, String owner) {
    Sub sub = id == null ? null : subs.get(id);
    if (sub == null || !sub.owner.equals(owner)) {
      throw new SubscriptionException(404, "Subscription", "Subscription/" + id + " is not known");
    }
    return sub;
  }

  private void configure(Sub sub, Subscription s) {
    if (!s.hasCriteria() || !topic.equals(s.getCriteria())) {
      throw new SubscriptionException(400, "Subscription.criteria",
          "criteria must be the topic canonical " + topic);
    }
    Filters filters = parseFilters(s);
    Subscription.SubscriptionChannelComponent ch = s.getChannel();
    if (ch.getType() == null) {
      throw new SubscriptionException(400, "Subscription.channel.type",
          "channel.type must be rest-hook or websocket");
    }
    PayloadContent payload = PayloadContent.ID_ONLY;
    if (ch.getPayloadElement().hasExtension(Backport.PAYLOAD_CONTENT)) {
      try {
        payload = PayloadContent.fromCode(ch.getPayloadElement()
            .getExtensionByUrl(Backport.PAYLOAD_CONTENT).getValue().primitiveValue());
      } catch (RuntimeException e) {
        throw new SubscriptionException(400, "Subscription.channel.payload", e.getMessage());
      }
    }
    if (!ch.hasPayload()) {
      ch.setPayload("application/fhir+json");
    } else if (!ch.getPayload().startsWith("application/fhir+json")
        && !ch.getPayload().startsWith("application/json")) {
      throw new SubscriptionException(400, "Subscription.channel.payload",
          "payload must be application/fhir+json");
    }
    long timeout = unsigned(ch, Backport.TIMEOUT, 10);
    long heartbeat = unsigned(ch, Backport.HEARTBEAT_PERIOD, 0);
    if (ch.getType() == Subscription.SubscriptionChannelType.RESTHOOK) {
      URI endpoint;
      try {
        endpoint = new URI(ch.getEndpoint());
      } catch (Exception e) {
        throw new SubscriptionException(400, "Subscription.channel.endpoint",
            "a rest-hook needs an absolute http(s) endpoint");
      }
      if (!endpoint.isAbsolute() || !(endpoint.getScheme().equals("https")
          || endpoint.getScheme().equals("http"))) {
        throw new SubscriptionException(400, "Subscription.channel.endpoint",
            "a rest-hook needs an absolute http(s) endpoint");
      }
      if (endpoint.getScheme().equals("http") && !allowInsecureEndpoints
          && !SecureTransportInterceptor.isLoopback(endpoint.getHost())) {
        throw new SubscriptionException(400, "Subscription.channel.endpoint",
            "rest-hook endpoints must use https (plain http only to loopback)");
      }
      for (StringType h : ch.getHeader()) {
        if (h.getValue() == null || h.getValue().indexOf(':') < 1) {
          throw new SubscriptionException(400, "Subscription.channel.header",
              "each header must read 'Name: value'");
        }
      }
    } else if (ch.getType() != Subscription.SubscriptionChannelType.WEBSOCKET) {
      throw new SubscriptionException(400, "Subscription.channel.type",
          "channel.type must be rest-hook or websocket");
    }
    s.getMeta().getProfile().clear();
    s.getMeta().addProfile(Backport.SUBSCRIPTION_PROFILE);
    s.setStatus(ch.getType() == Subscription.SubscriptionChannelType.WEBSOCKET
        ? Subscription.SubscriptionStatus.ACTIVE : Subscription.SubscriptionStatus.REQUESTED);
    s.setError(null);
    sub.resource = s;
    sub.filters = filters;
    sub.payload = payload;
    sub.client = http.okHttp().newBuilder().callTimeout(timeout, TimeUnit.SECONDS).build();
    if (sub.heartbeat != null) {
      sub.heartbeat.cancel(false);
      sub.heartbeat = null;
    }
    if (heartbeat > 0) {
      sub.heartbeat = executor.scheduleAtFixedRate(() -> heartbeat(sub), heartbeat, heartbeat,
          TimeUnit.SECONDS);
    }
  }

  private void afterConfigure(Sub sub) {
    if (sub.restHook()) {
      executor.execute(() -> handshake(sub));
    }
  }

  private static long unsigned(Subscription.SubscriptionChannelComponent ch, String url, long dflt) {
    Extension e = ch.getExtensionByUrl(url);
    if (e == null) {
      return dflt;
    }
    try {
      long v = Long.parseLong(e.getValue().primitiveValue());
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (RuntimeException ex) {
      throw new SubscriptionException(400, "Subscription.channel.extension",
          url.substring(url.lastIndexOf('/') + 1) + " must be a non-negative whole number");
    }
  }

  /** Reads the backport-filter-criteria: {@code [Type]?patient=...&launch=...&resource-type=...}. */
  static Filters parseFilters(Subscription s) {
    String type = null;
    String patient = null;
    String launch = null;
    for (Extension e : s.getCriteriaElement().getExtension()) {
      if (!Backport.FILTER_CRITERIA.equals(e.getUrl())) {
        continue;
      }
      String f = e.getValue() == null ? "" : e.getValue().primitiveValue();
      String query = f;
      int q = f.indexOf('?');
      if (q >= 0) {
        if (q > 0) {
          type = f.substring(0, q);
        }
        query = f.substring(q + 1);
      }
      for (String pair : query.split("&")) {
        if (pair.isBlank()) {
          continue;
        }
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new SubscriptionException(400, "Subscription.criteria.extension",
              "filter '" + pair + "' must read name=value");
        }
        String k = pair.substring(0, eq);
        String v = java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
        switch (k) {
          case "patient":
            patient = v.startsWith("Patient/") ? v : "Patient/" + v;
            break;
          case "launch":
            launch = v;
            break;
          case "resource-type":
          case "_type":
            type = v;
            break;
          default:
            throw new SubscriptionException(400, "Subscription.criteria.extension",
                "unknown filter '" + k + "'; the HALO topic filters by patient, launch and resource-type");
        }
      }
    }
    if (type != null && !type.matches("[A-Z][A-Za-z]+")) {
      throw new SubscriptionException(400, "Subscription.criteria.extension",
          "resource-type '" + type + "' is not a FHIR resource type");
    }
    return new Filters(type, patient, launch);
  }

  // ------------------------------------------------------------------ the topic

  /**
   * The topic fires: {@code r} was created or updated in launch session {@code sessionId}. Numbers
   * an event on every matching subscription and schedules delivery.
   */
  public void onChange(Resource r, boolean created, String sessionId) {
    String focus = r.fhirType() + "/" + r.getIdElement().getIdPart();
    String patient = PatientCompartment.patientOf(ctx, r).orElse(null);
    String launch = null;
    boolean launchKnown = false;
    Instant now = clock.instant();
    for (Sub sub : subs.values()) {
      Filters f = sub.filters;
      if (f.resourceType() != null && !f.resourceType().equals(r.fhirType())) {
        continue;
      }
      if (f.patient() != null && !f.patient().equals(patient)) {
        continue;
      }
      if (f.launch() != null) {
        if (!launchKnown) {
          launch = sessionId == null ? null
              : contexts.findBySession(sessionId, now).map(StoredContext::launchId).orElse(null);
          launchKnown = true;
        }
        if (!f.launch().equals(launch)) {
          continue;
        }
      }
      synchronized (sub) {
        if (sub.resource.getStatus() == Subscription.SubscriptionStatus.OFF) {
          continue;
        }
        sub.lastEvent++;
        sub.events.addLast(new StoredEvent(sub.lastEvent, now, focus));
        trim(sub, now);
      }
      executor.execute(() -> deliver(sub));
    }
  }

  private void trim(Sub sub, Instant now) {
    while (sub.events.size() > maxEventsPerSubscription
        || (!sub.events.isEmpty() && sub.events.peekFirst().timestamp().isBefore(now.minus(retention)))) {
      sub.events.removeFirst();
    }
  }

  // ------------------------------------------------------------------ delivery

  private void handshake(Sub sub) {
    SubscriptionNotification n;
    synchronized (sub) {
      n = notification(sub, NotificationType.HANDSHAKE, List.of());
    }
    if (post(sub, n)) {
      synchronized (sub) {
        sub.resource.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        sub.failures = 0;
      }
      LOG.debug("subscription {} active after handshake", sub.id);
      deliver(sub);
      return;
    }
    synchronized (sub) {
      sub.failures++;
      if (sub.failures >= maxAttempts) {
        toError(sub, "handshake failed " + sub.failures + " times");
        return;
      }
    }
    executor.schedule(() -> handshake(sub), backoff(sub.failures), TimeUnit.MILLISECONDS);
  }

  private void deliver(Sub sub) {
    List<StoredEvent> batch = new ArrayList<>();
    SubscriptionNotification n;
    synchronized (sub) {
      if (sub.delivering || sub.resource.getStatus() != Subscription.SubscriptionStatus.ACTIVE) {
        return;
      }
      int max = maxCount(sub);
      for (StoredEvent e : sub.events) {
        if (e.number() > sub.lastSent && batch.size() < max) {
          batch.add(e);
        }
      }
      if (batch.isEmpty()) {
        return;
      }
      if (!sub.restHook() && sub.sinks.isEmpty()) {
        return; // websocket consumer not bound: events wait, $events recovers them
      }
      sub.delivering = true;
      n = notification(sub, NotificationType.EVENT_NOTIFICATION, batch);
    }
    boolean ok = sub.restHook() ? post(sub, n) : pushWs(sub, n);
    synchronized (sub) {
      sub.delivering = false;
      if (ok) {
        sub.lastSent = batch.get(batch.size() - 1).number();
        sub.failures = 0;
        sub.lastSentAt = clock.instant();
        executor.execute(() -> deliver(sub)); // more may have arrived
        return;
      }
      if (!sub.restHook()) {
        return; // the sink is gone; the consumer reconnects and recovers
      }
      sub.failures++;
      if (sub.failures >= maxAttempts) {
        toError(sub, "delivery failed " + sub.failures + " times in a row");
        return;
      }
    }
    executor.schedule(() -> deliver(sub), backoff(sub.failures), TimeUnit.MILLISECONDS);
  }

  private void heartbeat(Sub sub) {
    SubscriptionNotification n;
    boolean error;
    synchronized (sub) {
      Subscription.SubscriptionStatus st = sub.resource.getStatus();
      error = st == Subscription.SubscriptionStatus.ERROR;
      if (st == Subscription.SubscriptionStatus.OFF || st == Subscription.SubscriptionStatus.REQUESTED
          || sub.delivering) {
        return;
      }
      n = notification(sub, NotificationType.HEARTBEAT, List.of());
    }
    boolean ok = sub.restHook() ? post(sub, n) : pushWs(sub, n);
    if (ok && error) {
      synchronized (sub) {
        sub.resource.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        sub.resource.setError(null);
        sub.failures = 0;
      }
      LOG.debug("subscription {} back to active after a heartbeat", sub.id);
      deliver(sub);
    }
  }

  private void toError(Sub sub, String why) {
    sub.resource.setStatus(Subscription.SubscriptionStatus.ERROR);
    sub.resource.setError(why);
    LOG.warn("subscription {} set to error: {}; events keep being numbered", sub.id, why);
    Audits.record(audit, "notification-delivery", AuditEventAction.E, false, sub.owner, null,
        sub.ref(), clock.instant());
  }

  private int maxCount(Sub sub) {
    Extension e = sub.resource.getChannel().getExtensionByUrl(Backport.MAX_COUNT);
    try {
      return e == null ? 50 : Math.max(1, Integer.parseInt(e.getValue().primitiveValue()));
    } catch (RuntimeException ex) {
      return 50;
    }
  }

  private long backoff(int failures) {
    long ms = initialBackoff.toMillis() << Math.min(20, Math.max(0, failures - 1));
    return Math.min(ms, maxBackoff.toMillis());
  }

  /** Builds a notification; caller holds the sub's monitor. */
  private SubscriptionNotification notification(Sub sub, NotificationType type, List<StoredEvent> events) {
    SubscriptionNotification.Builder b = SubscriptionNotification.builder(sub.ref(), type)
        .topic(topic).status(sub.resource.getStatus().toCode())
        .eventsSinceSubscriptionStart(sub.lastEvent).payload(sub.payload);
    for (StoredEvent e : events) {
      Resource r = null;
      if (sub.payload == PayloadContent.FULL_RESOURCE) {
        String[] p = e.focus().split("/");
        r = repository.read(p[0], p[1]).orElse(null);
      }
      b.addEvent(new NotificationEvent(e.number(), e.timestamp(), e.focus(), r));
    }
    return b.build();
  }

  private boolean post(Sub sub, SubscriptionNotification n) {
    String json = ctx.newJsonParser().encodeResourceToString(n.toBundle());
    Request.Builder rb = new Request.Builder().url(sub.resource.getChannel().getEndpoint())
        .post(RequestBody.create(json, FHIR_JSON));
    for (StringType h : sub.resource.getChannel().getHeader()) {
      int c = h.getValue().indexOf(':');
      rb.header(h.getValue().substring(0, c).trim(), h.getValue().substring(c + 1).trim());
    }
    try (Response r = sub.client.newCall(rb.build()).execute()) {
      boolean ok = r.isSuccessful();
      if (ok) {
        delivered.incrementAndGet();
      }
      return ok;
    } catch (IOException | RuntimeException e) {
      LOG.debug("rest-hook delivery for {} failed: {}", sub.id, e.getClass().getSimpleName());
      return false;
    }
  }

  private boolean pushWs(Sub sub, SubscriptionNotification n) {
    String json = ctx.newJsonParser().encodeResourceToString(n.toBundle());
    boolean any = false;
    for (WebSocketSink s : sub.sinks) {
      if (s.send(json)) {
        any = true;
        delivered.incrementAndGet();
      } else {
        sub.sinks.remove(s);
      }
    }
    return any;
  }

  // ------------------------------------------------------------------ $status, $events, websocket

  /** {@code $status}: a query-status notification (no events). */
  public Bundle status(String id, String owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      return notification(sub, NotificationType.QUERY_STATUS, List.of()).toBundle();
    }
  }

  /**
   * {@code $events}: the retained events numbered {@code since..until} (inclusive; either may be
   * null), as a query-event notification.
   */
  public Bundle events(String id, String owner, Long since, Long until, String content) {
    Sub sub = owned(id, owner);
    PayloadContent payload;
    try {
      payload = content == null ? null : PayloadContent.fromCode(content);
    } catch (IllegalArgumentException e) {
      throw new SubscriptionException(400, "content", e.getMessage());
    }
    synchronized (sub) {
      List<StoredEvent> out = new ArrayList<>();
      for (StoredEvent e : sub.events) {
        if ((since == null || e.number() >= since) && (until == null || e.number() <= until)) {
          out.add(e);
        }
      }
      PayloadContent saved = sub.payload;
      if (payload != null) {
        sub.payload = payload;
      }
      try {
        return notification(sub, NotificationType.QUERY_EVENT, out).toBundle();
      } finally {
        sub.payload = saved;
      }
    }
  }

  /** {@code $get-ws-binding-token}: a short-lived token to bind a websocket to the subscription. */
  public Parameters bindingToken(String id, String owner) {
    Sub sub = owned(id, owner);
    if (sub.restHook()) {
      throw new SubscriptionException(400, "id", "Subscription/" + id + " is not a websocket subscription");
    }
    if (websocketUrl == null) {
      throw new SubscriptionException(501, "", "this server has no websocket endpoint");
    }
    String token = randomId(32);
    Instant exp = clock.instant().plus(Duration.ofMinutes(5));
    bindingTokens.put(token, sub.id, exp);
    Parameters p = new Parameters();
    p.addParameter().setName("token").setValue(new StringType(token));
    p.addParameter().setName("expiration").setValue(new DateTimeType(Date.from(exp)));
    p.addParameter().setName("subscription").setValue(new StringType(sub.ref()));
    p.addParameter().setName("websocket-url").setValue(new UrlType(websocketUrl.toString()));
    return p;
  }

  /**
   * A websocket sent {@code text}: {@code bind-with-token <token>} binds it (answered by a
   * handshake); anything else is refused. Returns false if the socket should be closed.
   */
  public boolean onWebSocketText(WebSocketSink sink, String text) {
    String t = text == null ? "" : text.trim();
    if (!t.startsWith("bind-with-token ")) {
      sink.close(1008, "send bind-with-token <token>");
      return false;
    }
    String subId = bindingTokens.remove(t.substring(16).trim());
    Sub sub = subId == null ? null : subs.get(subId);
    if (sub == null) {
      sink.close(1008, "unknown or expired binding token");
      return false;
    }
    SubscriptionNotification hs;
    synchronized (sub) {
      sub.sinks.add(sink);
      hs = notification(sub, NotificationType.HANDSHAKE, List.of());
    }
    sink.send(ctx.newJsonParser().encodeResourceToString(hs.toBundle()));
    executor.execute(() -> deliver(sub));
    return true;
  }

  public void onWebSocketClosed(WebSocketSink sink) {
    for (Sub s : subs.values()) {
      s.sinks.remove(sink);
    }
  }

  private String randomId(int bytes) {
    byte[] b = new byte[bytes];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  @Override
  public void close() {
    executor.shutdownNow();
    for (Sub s : subs.values()) {
      for (WebSocketSink w : s.sinks) {
        w.close(1001, "server stopping");
      }
    }
  }

  /** Builds a {@link SubscriptionEngine}. */
  public static final class Builder {
    private final FhirContext ctx;
    private final LaunchContextStore contexts;
    private final FhirResourceRepository repository;
    private final HaloHttp http;
    private Clock clock = Clock.systemUTC();
    private AuditSink audit = e -> { };
    private String topic = Backport.HALO_TOPIC;
    private Duration retention = Duration.ofHours(24);
    private int maxEventsPerSubscription = 10_000;
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private boolean allowInsecureEndpoints;
    private int threads = 4;

    private Builder(FhirContext ctx, LaunchContextStore contexts, FhirResourceRepository repository,
        HaloHttp http) {
      this.ctx = Objects.requireNonNull(ctx);
      this.contexts = Objects.requireNonNull(contexts);
      this.repository = Objects.requireNonNull(repository);
      this.http = Objects.requireNonNull(http);
    }

    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    public Builder audit(AuditSink v) { this.audit = Objects.requireNonNull(v); return this; }
    /** The topic canonical. Default {@link Backport#HALO_TOPIC}. */
    public Builder topic(String v) { this.topic = Objects.requireNonNull(v); return this; }
    /** How long events stay answerable by {@code $events}. Default 24 hours. */
    public Builder retention(Duration v) { this.retention = Objects.requireNonNull(v); return this; }
    public Builder maxEventsPerSubscription(int v) { this.maxEventsPerSubscription = v; return this; }
    /** Failed deliveries in a row before {@code error}. Default 5. */
    public Builder maxAttempts(int v) { this.maxAttempts = v; return this; }
    public Builder initialBackoff(Duration v) { this.initialBackoff = Objects.requireNonNull(v); return this; }
    public Builder maxBackoff(Duration v) { this.maxBackoff = Objects.requireNonNull(v); return this; }
    /** Accept plain-http rest-hook endpoints off loopback. Unsafe; closed test networks only. */
    public Builder unsafeAllowInsecureEndpoints(boolean v) { this.allowInsecureEndpoints = v; return this; }
    public Builder threads(int v) { this.threads = v; return this; }

    public SubscriptionEngine build() {
      if (maxAttempts < 1 || threads < 1 || maxEventsPerSubscription < 1) {
        throw new IllegalStateException("maxAttempts, threads and maxEventsPerSubscription must be positive");
      }
      return new SubscriptionEngine(this);
    }
  }
}
