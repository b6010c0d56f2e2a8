package ca.halo.server.subscription;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
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
import ca.halo.server.security.AccessRules;
import ca.halo.server.security.Principal;
import ca.uhn.fhir.context.FhirContext;
import java.net.Proxy;
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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.ConnectionPool;
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
 * <p><b>Who may subscribe, and to what.</b> A subscriber is only ever sent, by any channel, in
 * any payload, in {@code $events} and in {@code $status}, what its own principal could read at
 * that moment through the FHIR API ({@link AccessRules#mayRead}); the check runs when a change is
 * numbered and again when it is delivered (a resource no longer readable is announced by its event
 * number alone, without focus or body). Creating a subscription is open to:
 * <ul>
 *   <li>a context source (the PoC: a Context write scope, not a launch token): it hears of the
 *       sessions it set (a {@code launch} filter must name one of its own live contexts);</li>
 *   <li>a launched app (a launch token whose scopes allow creating Subscriptions): it hears of its
 *       own session only (a {@code launch} filter must be its own launch, a {@code patient}
 *       filter under {@code patient/} scopes its own patient); the subscription ends with the
 *       session;</li>
 *   <li>an administrator ({@link AccessRules#isAdmin}): everything.</li>
 * </ul>
 * Anyone else is refused with 403. Each subscription belongs to the principal that created it
 * (client, user and launch session) and is invisible to everyone else (404). It stands as long as
 * its subscriber does ({@link AccessRules#isLive}: for the SoFA's own sign-ins the grant behind
 * the token, otherwise the token's expiry; a revocation at once): once that lapses nothing more
 * is numbered or sent and the subscription shows {@code error} until its owner uses it again with
 * a fresh token (any call of this API renews the subscriber).
 *
 * <p><b>Delivery.</b> At least once and in order per subscription. Each subscription has at most
 * one delivery in flight. Healthy subscriptions run on {@code deliveryThreads} workers, at most
 * {@code maxDeliveriesPerOwner} of one user at once (the rest wait their turn in that user's
 * lane); a subscription whose endpoint failed last time retries on {@code slowDeliveryThreads}
 * workers of its own, so a slow or dead endpoint delays only itself. Every call is bounded
 * (connect timeout, and a total time of the subscription's {@code backport-timeout}, 1 to
 * {@code maxTimeout} seconds). Rest-hook endpoints pass the {@link EndpointPolicy} when accepted
 * (off the request thread, within {@code endpointCheckTimeout}) and at every connection; no
 * redirects, no proxy. A rest-hook subscription whose endpoint keeps failing goes to
 * {@code error} but keeps numbering its events; heartbeats keep probing it (no more often than
 * {@code maxBackoff}), and the first that succeeds returns it to {@code active} and resumes
 * delivery where it stopped. With full-resource payloads a resource is carried once per
 * notification or {@code $events} answer, up to {@code maxPayloadBytes} of resources.
 *
 * <p><b>Bounds.</b> At most {@code maxSubscriptions} subscriptions, {@code maxSubscriptionsPerOwner}
 * per user (across clients and launches), {@code maxSubscriptionsPerLaunch} per launch,
 * {@code maxEventsPerSubscription} retained events each (for {@code retention}, default 24 h),
 * {@code maxHeaders} headers of at most 1 KiB, {@code maxWebSocketsPerSubscription} bound
 * sockets and five live binding tokens per subscription. Past a bound the request is refused with
 * a clear error; nothing is silently dropped but the oldest retained events.
 *
 * <p>Thread-safe. Deliveries run on {@code halo-subscriptions-N} and
 * {@code halo-subscriptions-slow-N} threads, endpoint checks on
 * {@code halo-subscriptions-endpoint-check}, timers on {@code halo-subscriptions-timer};
 * {@link #close()} stops them all. No servlet types:
 * {@code SofaServer} mounts it on HAPI and Jetty.
 *
 * <p>Spec: Subscriptions R5 Backport IG (R4 profiles), HALO CA:FSub and our decisions (topic
 * canonical, filters patient/launch/resource-type, default payload id-only).
 */
public final class SubscriptionEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionEngine.class);
  private static final MediaType FHIR_JSON = MediaType.get("application/fhir+json; charset=utf-8");
  private static final int MAX_HEADER_CHARS = 1024;
  private static final int MAX_BINDING_TOKENS_PER_SUBSCRIPTION = 5;
  private static final String REFUSED_ENDPOINT = "the endpoint is not permitted by this server's"
      + " endpoint policy (an https URL of a publicly reachable host)";

  private final FhirContext ctx;
  private final Clock clock;
  private final LaunchContextStore contexts;
  private final FhirResourceRepository repository;
  private final AccessRules access;
  private final AuditSink audit;
  private final EndpointPolicy policy;
  private final String topic;
  private final String userAgent;
  private final Duration retention;
  private final int maxEventsPerSubscription;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final long defaultTimeoutSeconds;
  private final long maxTimeoutSeconds;
  private final int maxSubscriptions;
  private final int maxSubscriptionsPerOwner;
  private final int maxSubscriptionsPerLaunch;
  private final int maxDeliveriesPerOwner;
  private final long maxPayloadBytes;
  private final Duration endpointCheckTimeout;
  private final int maxHeaders;
  private final int maxWebSocketsPerSubscription;
  private final ScheduledExecutorService timer;
  private final ThreadPoolExecutor workers;
  private final ThreadPoolExecutor slowWorkers;
  private final ThreadPoolExecutor endpointChecks;
  private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
  private final OkHttpClient http;
  private final Map<String, Sub> subs = new ConcurrentHashMap<>();
  private final Map<String, Binding> bindings = new ConcurrentHashMap<>();
  private final Object createLock = new Object();
  private final SecureRandom random = new SecureRandom();
  private final AtomicLong delivered = new AtomicLong();
  private volatile URI websocketUrl;

  private record StoredEvent(long number, Instant timestamp, String focus) {}

  private record Binding(String subscriptionId, Instant expires) {}

  private record Header(String name, String value) {}

  private enum Step { HANDSHAKE, DELIVER, HEARTBEAT }

  /**
   * The deliveries of one subscriber (a user, or a client without one): at most
   * {@code maxDeliveriesPerOwner} in flight, the others queued here in turn, so one principal's
   * slow endpoints cannot hold the shared workers.
   */
  private static final class Lane {
    int running;
    final Deque<Sub> waiting = new ArrayDeque<>();
  }

  /** Per subscription state; guarded by its own monitor. */
  private final class Sub {
    final String id;
    final String ownerKey;
    /** Read without the monitor by {@link #onChange}: volatile. */
    volatile Principal subscriber;
    Subscription resource;
    volatile Filters filters;
    PayloadContent payload;
    long timeoutSeconds;
    List<Header> headers = List.of();
    long lastEvent;
    long lastSent;
    int failures;
    boolean handshakePending;
    boolean heartbeatDue;
    boolean scheduled;
    boolean waitingForRetry;
    boolean deleted;
    /** The subscriber's token expired or was revoked: paused until the owner renews it. */
    boolean lapsed;
    Instant lastSentAt = Instant.EPOCH;
    Instant lastProbeAt = Instant.EPOCH;
    ScheduledFuture<?> heartbeat;
    final Deque<StoredEvent> events = new ArrayDeque<>();
    final Deque<String> bindingTokens = new ArrayDeque<>();
    final List<WebSocketSink> sinks = new CopyOnWriteArrayList<>();

    final String quotaKey;

    Sub(String id, String ownerKey, Principal subscriber) {
      this.id = id;
      this.ownerKey = ownerKey;
      this.subscriber = subscriber;
      this.quotaKey = quotaKey(subscriber);
    }

    String ref() {
      return "Subscription/" + id;
    }

    boolean restHook() {
      return resource.getChannel().getType() == Subscription.SubscriptionChannelType.RESTHOOK;
    }

    Subscription.SubscriptionStatus status() {
      return resource.getStatus();
    }
  }

  /** Parsed filters: resource type, patient and launch; all optional. */
  record Filters(String resourceType, String patient, String launch) {}

  private SubscriptionEngine(Builder b) {
    this.ctx = b.ctx;
    this.clock = b.clock;
    this.contexts = b.contexts;
    this.repository = b.repository;
    this.access = b.access;
    this.audit = b.audit;
    this.policy = b.policy;
    this.topic = b.topic;
    this.userAgent = b.userAgent;
    this.retention = b.retention;
    this.maxEventsPerSubscription = b.maxEventsPerSubscription;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.defaultTimeoutSeconds = b.defaultTimeout.toSeconds();
    this.maxTimeoutSeconds = b.maxTimeout.toSeconds();
    this.maxSubscriptions = b.maxSubscriptions;
    this.maxSubscriptionsPerOwner = b.maxSubscriptionsPerOwner;
    this.maxSubscriptionsPerLaunch = b.maxSubscriptionsPerLaunch;
    this.maxDeliveriesPerOwner = b.maxDeliveriesPerOwner;
    this.maxPayloadBytes = b.maxPayloadBytes;
    this.endpointCheckTimeout = b.endpointCheckTimeout;
    this.maxHeaders = b.maxHeaders;
    this.maxWebSocketsPerSubscription = b.maxWebSocketsPerSubscription;
    AtomicLong n = new AtomicLong();
    this.workers = new ThreadPoolExecutor(b.deliveryThreads, b.deliveryThreads, 60, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "halo-subscriptions-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    this.workers.allowCoreThreadTimeOut(true);
    AtomicLong slowN = new AtomicLong();
    this.slowWorkers = new ThreadPoolExecutor(b.slowDeliveryThreads, b.slowDeliveryThreads, 60,
        TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "halo-subscriptions-slow-" + slowN.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    this.slowWorkers.allowCoreThreadTimeOut(true);
    // endpoint checks resolve DNS: off the request thread, few at once, each bounded in time
    this.endpointChecks = new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS,
        new java.util.concurrent.ArrayBlockingQueue<>(16), r -> {
          Thread t = new Thread(r, "halo-subscriptions-endpoint-check");
          t.setDaemon(true);
          return t;
        });
    this.endpointChecks.allowCoreThreadTimeOut(true);
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "halo-subscriptions-timer");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true);
    this.timer = t;
    // Deliveries get a client of their own: the policy's resolver at every connection, no proxy
    // (a proxy would resolve names itself), no redirects, bounded connect/read/write times; the
    // total per call is the subscription's timeout.
    this.http = new OkHttpClient.Builder()
        .dns(host -> policy.resolve(host))
        .proxy(Proxy.NO_PROXY)
        .followRedirects(false)
        .followSslRedirects(false)
        .retryOnConnectionFailure(false)
        .connectionPool(new ConnectionPool(Math.max(5, b.deliveryThreads), 1, TimeUnit.MINUTES))
        .connectTimeout(b.connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .readTimeout(b.maxTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .writeTimeout(b.maxTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .callTimeout(b.maxTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .build();
  }

  /**
   * @param access the visibility rule shared with the FHIR endpoints (see {@link AccessRules})
   */
  public static Builder builder(FhirContext ctx, LaunchContextStore contexts,
      FhirResourceRepository repository, AccessRules access) {
    return new Builder(ctx, contexts, repository, access);
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

  /** Subscriptions held now. */
  public int size() {
    return subs.size();
  }

  // ------------------------------------------------------------------ who may subscribe

  /** The owner key of a subscription: client, user and (for launch tokens) launch session. */
  private static String ownerKey(Principal p) {
    return p.ownerKey();
  }

  /**
   * Whose quota and delivery lane a subscription counts against: the user (across clients and
   * launches), or the client when the token names no user.
   */
  private static String quotaKey(Principal p) {
    return p.hasUser() ? "user:" + p.subject().orElseThrow() : "client:" + p.clientId();
  }

  /**
   * Checks that {@code p} may hold a subscription with {@code filters}; see the class comment.
   *
   * @throws SubscriptionException 403 when it may not
   */
  private void checkSubscriber(Principal p, Filters f) {
    if (!access.isLive(p)) {
      throw new SubscriptionException(401, "", "the launch this token belongs to has ended");
    }
    if (access.isAdmin(p)) {
      return;
    }
    if (p.sessionId().isPresent()) {
      if (p.scopes().access(Interaction.CREATE, "Subscription") == SmartScopes.Access.NONE) {
        throw forbidden();
      }
      if (f.launch() != null && !access.sessionContext(p).map(StoredContext::launchId)
          .map(f.launch()::equals).orElse(false)) {
        throw new SubscriptionException(403, "Subscription.criteria.extension",
            "a launched app may subscribe only to its own launch");
      }
      if (f.patient() != null && p.scopes().access(Interaction.READ, "Patient")
          != SmartScopes.Access.ANY && !p.patient().map(id -> ("Patient/" + id).equals(f.patient()))
              .orElse(false)) {
        throw new SubscriptionException(403, "Subscription.criteria.extension",
            "patient/ scopes may subscribe only to the patient in context");
      }
      return;
    }
    if (!access.isContextSource(p)) {
      throw forbidden();
    }
    if (f.launch() != null && !contexts.find(f.launch(), clock.instant())
        .map(c -> c.ownerKey().equals(p.bindingKey())).orElse(false)) {
      throw new SubscriptionException(403, "Subscription.criteria.extension",
          "the launch filter must name a live context that this caller set");
    }
  }

  private SubscriptionException forbidden() {
    return new SubscriptionException(403, "Subscription", "subscriptions are for the point of care"
        + " that set a context (a Context write scope: " + String.join(", ", access.contextWriteScopes())
        + "), a launched app allowed to create Subscriptions (for its own launch), or an"
        + " administrator (" + String.join(", ", access.adminScopes()) + ")");
  }

  // ------------------------------------------------------------------ Subscription CRUD

  /**
   * Accepts a Subscription: checks who asks, topic, filters, channel and endpoint; answers it
   * with an id and status {@code requested} (rest-hook: {@code active} after a successful
   * handshake, done in the background) or {@code active} (websocket: the handshake comes at
   * bind).
   *
   * @throws SubscriptionException 400 bad Subscription, 401 ended launch, 403 not allowed, 429
   *     the caller holds its maximum, 503 the server holds its maximum
   */
  public Subscription create(Subscription s, Principal owner) {
    Objects.requireNonNull(owner, "owner");
    Subscription copy = s.copy();
    Sub sub = new Sub(HexFormat.of().formatHex(randomBytes(12)), ownerKey(owner), owner);
    synchronized (sub) {
      configure(sub, copy, owner);
    }
    try {
      synchronized (createLock) {
        if (subs.size() >= maxSubscriptions) {
          throw new SubscriptionException(503, "Subscription",
              "this server holds its maximum of " + maxSubscriptions + " subscriptions; retry later");
        }
        long mine = subs.values().stream().filter(x -> x.quotaKey.equals(sub.quotaKey)).count();
        if (mine >= maxSubscriptionsPerOwner) {
          throw new SubscriptionException(429, "Subscription", "this user (or client) already holds "
              + maxSubscriptionsPerOwner + " subscriptions, the most it may; delete one first");
        }
        if (owner.sessionId().isPresent() && subs.values().stream()
            .filter(x -> x.ownerKey.equals(sub.ownerKey)).count() >= maxSubscriptionsPerLaunch) {
          throw new SubscriptionException(429, "Subscription", "this launch already holds "
              + maxSubscriptionsPerLaunch + " subscriptions, the most one launch may");
        }
        subs.put(sub.id, sub);
      }
    } catch (SubscriptionException e) {
      end(sub, 1000, "refused");
      throw e;
    }
    afterConfigure(sub);
    Audits.record(audit, "subscription-create", AuditEventAction.C, true, owner.clientId(),
        owner.subject().orElse(null), sub.ref(), clock.instant());
    return read(sub.id, owner);
  }

  /** Replaces a subscription's settings; event numbers carry on. Status requested re-handshakes. */
  public Subscription update(String id, Subscription s, Principal owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      configure(sub, s.copy(), owner);
      sub.failures = 0;
      sub.subscriber = owner;
    }
    afterConfigure(sub);
    return read(id, owner);
  }

  public Subscription read(String id, Principal owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      Subscription out = sub.resource.copy();
      out.setId(sub.id);
      return out;
    }
  }

  public List<Subscription> list(Principal owner) {
    String key = ownerKey(owner);
    List<Subscription> out = new ArrayList<>();
    for (Sub s : subs.values()) {
      if (s.ownerKey.equals(key)) {
        synchronized (s) {
          Subscription r = s.resource.copy();
          r.setId(s.id);
          out.add(r);
        }
      }
    }
    return out;
  }

  public void delete(String id, Principal owner) {
    end(owned(id, owner), 1000, "subscription deleted");
  }

  private void end(Sub sub, int wsCode, String why) {
    subs.remove(sub.id);
    synchronized (sub) {
      sub.deleted = true;
      if (sub.heartbeat != null) {
        sub.heartbeat.cancel(false);
      }
      sub.resource.setStatus(Subscription.SubscriptionStatus.OFF);
      sub.bindingTokens.forEach(bindings::remove);
      sub.bindingTokens.clear();
      sub.events.clear();
    }
    for (WebSocketSink w : sub.sinks) {
      w.close(wsCode, why);
    }
    sub.sinks.clear();
  }

  /** Ends every subscription held by a launch token of {@code sessionId} (its launch ended). */
  public void onSessionEnded(String sessionId) {
    for (Sub s : subs.values()) {
      if (s.subscriber.sessionId().map(sessionId::equals).orElse(false)) {
        end(s, 1000, "the launch ended");
      }
    }
  }

  /**
   * The caller's own subscription. Each use by its owner renews it: the caller's (fresh) token
   * becomes the subscriber from now on, and a subscription paused because the earlier token
   * expired or was revoked resumes (a rest-hook with a new handshake).
   */
  private Sub owned(String id, Principal owner) {
    Sub sub = id == null ? null : subs.get(id);
    if (sub == null || !sub.ownerKey.equals(ownerKey(owner))) {
      throw new SubscriptionException(404, "Subscription", "Subscription/" + id + " is not known");
    }
    if (!access.isLive(owner)) {
      throw new SubscriptionException(401, "", "the launch this token belongs to has ended");
    }
    boolean resumed = false;
    synchronized (sub) {
      Principal before = sub.subscriber;
      if (owner.expiresAt().isEmpty() || before.expiresAt().isEmpty()
          || !owner.expiresAt().get().isBefore(before.expiresAt().get()) || !access.isLive(before)) {
        sub.subscriber = owner;
      }
      if (sub.lapsed && !sub.deleted) {
        sub.lapsed = false;
        sub.resource.setError(null);
        if (sub.restHook()) {
          sub.resource.setStatus(Subscription.SubscriptionStatus.REQUESTED);
          sub.handshakePending = true;
        } else {
          sub.resource.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        }
        resumed = true;
      }
    }
    if (resumed) {
      LOG.debug("subscription {} resumed with its owner's fresh token", sub.id);
      kick(sub);
    }
    return sub;
  }

  /** Checks and applies a Subscription; the caller holds the sub's monitor. */
  private void configure(Sub sub, Subscription s, Principal owner) {
    if (!s.hasCriteria() || !topic.equals(s.getCriteria())) {
      throw new SubscriptionException(400, "Subscription.criteria",
          "criteria must be the topic canonical " + topic);
    }
    Filters filters = parseFilters(s);
    checkSubscriber(owner, filters);
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
        throw new SubscriptionException(400, "Subscription.channel.payload",
            "backport-payload-content must be empty, id-only or full-resource");
      }
    }
    if (!ch.hasPayload()) {
      ch.setPayload("application/fhir+json");
    } else if (!ch.getPayload().startsWith("application/fhir+json")
        && !ch.getPayload().startsWith("application/json")) {
      throw new SubscriptionException(400, "Subscription.channel.payload",
          "payload must be application/fhir+json");
    }
    long timeout = bounded(ch, Backport.TIMEOUT, defaultTimeoutSeconds, 1, maxTimeoutSeconds);
    long heartbeat = bounded(ch, Backport.HEARTBEAT_PERIOD, 0, 0, 86_400);
    bounded(ch, Backport.MAX_COUNT, 50, 1, 1000);
    List<Header> headers = new ArrayList<>();
    if (ch.getType() == Subscription.SubscriptionChannelType.RESTHOOK) {
      URI endpoint;
      try {
        endpoint = new URI(ch.getEndpoint());
      } catch (Exception e) {
        endpoint = null;
      }
      if (endpoint == null || !permitted(endpoint)) {
        throw new SubscriptionException(400, "Subscription.channel.endpoint", REFUSED_ENDPOINT);
      }
      if (ch.getHeader().size() > maxHeaders) {
        throw new SubscriptionException(400, "Subscription.channel.header",
            "at most " + maxHeaders + " headers");
      }
      for (StringType h : ch.getHeader()) {
        String v = h.getValue();
        int c = v == null ? -1 : v.indexOf(':');
        if (c < 1 || v.length() > MAX_HEADER_CHARS) {
          throw new SubscriptionException(400, "Subscription.channel.header",
              "each header must read 'Name: value', at most " + MAX_HEADER_CHARS + " characters");
        }
        String name = v.substring(0, c).trim();
        String value = v.substring(c + 1).trim();
        if (!policy.permitsHeader(name) || value.chars().anyMatch(x -> x < 0x20 && x != '\t' || x == 0x7f)) {
          throw new SubscriptionException(400, "Subscription.channel.header",
              "header '" + (name.length() > 40 ? name.substring(0, 40) : name) + "' may not be set"
                  + " by a subscriber (no Host, Cookie, hop-by-hop, Content-* or forwarding headers,"
                  + " no control characters)");
        }
        headers.add(new Header(name, value));
      }
    } else if (ch.getType() == Subscription.SubscriptionChannelType.WEBSOCKET) {
      if (ch.hasEndpoint() || ch.hasHeader()) {
        throw new SubscriptionException(400, "Subscription.channel",
            "a websocket subscription takes no endpoint and no headers");
      }
    } else {
      throw new SubscriptionException(400, "Subscription.channel.type",
          "channel.type must be rest-hook or websocket");
    }
    s.getMeta().getProfile().clear();
    s.getMeta().addProfile(Backport.SUBSCRIPTION_PROFILE);
    boolean rest = ch.getType() == Subscription.SubscriptionChannelType.RESTHOOK;
    s.setStatus(rest ? Subscription.SubscriptionStatus.REQUESTED : Subscription.SubscriptionStatus.ACTIVE);
    s.setError(null);
    sub.resource = s;
    sub.filters = filters;
    sub.payload = payload;
    sub.timeoutSeconds = timeout;
    sub.headers = List.copyOf(headers);
    sub.handshakePending = rest;
    if (sub.heartbeat != null) {
      sub.heartbeat.cancel(false);
      sub.heartbeat = null;
    }
    if (heartbeat > 0) {
      sub.heartbeat = timer.scheduleAtFixedRate(() -> {
        synchronized (sub) {
          sub.heartbeatDue = true;
        }
        kick(sub);
      }, heartbeat, heartbeat, TimeUnit.SECONDS);
    }
  }

  /**
   * Asks the policy about an endpoint off the request thread (it may resolve DNS), within
   * {@code endpointCheckTimeout}; a slow or refused answer is a refusal, and when too many
   * checks are in flight the caller is asked to retry.
   */
  private boolean permitted(URI endpoint) {
    java.util.concurrent.Future<Boolean> f;
    try {
      f = endpointChecks.submit(() -> policy.permits(endpoint));
    } catch (RejectedExecutionException e) {
      throw new SubscriptionException(503, "Subscription.channel.endpoint",
          "too many endpoint checks in flight; retry shortly");
    }
    try {
      return f.get(endpointCheckTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      f.cancel(true);
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return false;
    }
  }

  private void afterConfigure(Sub sub) {
    kick(sub);
  }

  private static long bounded(Subscription.SubscriptionChannelComponent ch, String url, long dflt,
      long min, long max) {
    Extension e = ch.getExtensionByUrl(url);
    String name = url.substring(url.lastIndexOf('/') + 1);
    if (e == null) {
      return dflt;
    }
    long v;
    try {
      v = Long.parseLong(e.getValue().primitiveValue());
    } catch (RuntimeException ex) {
      throw new SubscriptionException(400, "Subscription.channel.extension",
          name + " must be a whole number from " + min + " to " + max);
    }
    if (v < min || v > max) {
      throw new SubscriptionException(400, "Subscription.channel.extension",
          name + " must be from " + min + " to " + max + ", not " + v);
    }
    return v;
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
      if (f == null) {
        f = "";
      }
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
              "each filter must read name=value");
        }
        String k = pair.substring(0, eq);
        String v;
        try {
          v = java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException ex) {
          throw new SubscriptionException(400, "Subscription.criteria.extension",
              "filter '" + k + "' has a malformed value");
        }
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
                "unknown filter; the HALO topic filters by patient, launch and resource-type");
        }
      }
    }
    if (type != null && !type.matches("[A-Z][A-Za-z]{1,63}")) {
      throw new SubscriptionException(400, "Subscription.criteria.extension",
          "resource-type must be a FHIR resource type");
    }
    return new Filters(type, patient, launch);
  }

  // ------------------------------------------------------------------ the topic

  /**
   * The topic fires: {@code r} (as stored) was created or updated in launch session
   * {@code sessionId} (null for the server's own data). Numbers an event on every matching
   * subscription whose subscriber may read {@code r}, and schedules delivery.
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
      if (!access.mayRead(sub.subscriber, r)) {
        continue; // never numbered for a subscriber that could not read it
      }
      synchronized (sub) {
        if (sub.deleted || sub.status() == Subscription.SubscriptionStatus.OFF) {
          continue;
        }
        sub.lastEvent++;
        sub.events.addLast(new StoredEvent(sub.lastEvent, now, focus));
        trim(sub, now);
      }
      kick(sub);
    }
  }

  private void trim(Sub sub, Instant now) {
    Instant oldest = now.minus(retention);
    while (sub.events.size() > maxEventsPerSubscription
        || (!sub.events.isEmpty() && sub.events.peekFirst().timestamp().isBefore(oldest))) {
      sub.events.removeFirst();
    }
  }

  // ------------------------------------------------------------------ delivery

  /**
   * Queues the subscription in its owner's lane unless it is queued or running already, or
   * waits for a retry.
   */
  private void kick(Sub sub) {
    synchronized (sub) {
      if (sub.scheduled || sub.deleted || sub.waitingForRetry) {
        return;
      }
      sub.scheduled = true;
    }
    enqueue(sub);
  }

  /**
   * Runs the sub now if it may, else queues it (its {@code scheduled} is set). A subscription
   * whose endpoint failed last time goes to the slow pool, so failing and slow endpoints never hold
   * the workers of healthy ones; a healthy one goes through its owner's lane, so one principal's
   * new subscriptions cannot take every worker at once.
   */
  private void enqueue(Sub sub) {
    boolean slow;
    synchronized (sub) {
      slow = sub.failures > 0;
    }
    if (slow) {
      try {
        slowWorkers.execute(() -> run(sub, null));
      } catch (RejectedExecutionException e) {
        synchronized (sub) {
          sub.scheduled = false; // closing
        }
      }
      return;
    }
    Lane lane = lanes.computeIfAbsent(sub.quotaKey, k -> new Lane());
    boolean start;
    synchronized (lane) {
      start = lane.running < maxDeliveriesPerOwner;
      if (start) {
        lane.running++;
      } else {
        lane.waiting.addLast(sub);
      }
    }
    if (start) {
      submit(sub, lane);
    }
  }

  private void submit(Sub sub, Lane lane) {
    try {
      workers.execute(() -> run(sub, lane));
    } catch (RejectedExecutionException e) {
      synchronized (sub) {
        sub.scheduled = false; // closing
      }
      synchronized (lane) {
        lane.running--;
      }
    }
  }

  /**
   * One step of one subscription's work, on a worker; at most one runs per subscription. Its
   * lane's place goes to the next waiting subscription of the same owner; this one, if it has
   * more to do, queues again.
   */
  private void run(Sub sub, Lane lane) {
    boolean more = false;
    try {
      more = step(sub);
    } catch (RuntimeException e) {
      LOG.warn("subscription {} work failed ({}); retrying later", sub.id, e.getClass().getSimpleName());
      synchronized (sub) {
        if (!sub.deleted) {
          retryLater(sub);
        } else {
          sub.scheduled = false;
        }
      }
    }
    if (lane != null) {
      Sub next;
      synchronized (lane) {
        next = lane.waiting.pollFirst();
        if (next == null) {
          lane.running--;
          if (lane.running == 0) {
            lanes.remove(sub.quotaKey, lane);
          }
        }
      }
      if (next != null) {
        submit(next, lane);
      }
    }
    if (more) {
      enqueue(sub);
    }
  }

  /** Does one step; true if the subscription has more to do (it stays scheduled). */
  private boolean step(Sub sub) {
    Step step;
    List<StoredEvent> batch = List.of();
    Principal subscriber;
    PayloadContent payload;
    synchronized (sub) {
      step = next(sub);
      if (step == null) {
        sub.scheduled = false;
        return false;
      }
      if (step == Step.DELIVER) {
        batch = new ArrayList<>();
        int max = maxCount(sub);
        for (StoredEvent e : sub.events) {
          if (e.number() > sub.lastSent && batch.size() < max) {
            batch.add(e);
          }
        }
      }
      subscriber = sub.subscriber;
      payload = sub.payload;
    }
    if (!access.sessionLive(subscriber)) {
      end(sub, 1000, "the launch ended");
      return false;
    }
    if (!access.isLive(subscriber)) {
      synchronized (sub) {
        sub.lapsed = true;
        sub.scheduled = false;
        sub.resource.setStatus(Subscription.SubscriptionStatus.ERROR);
        sub.resource.setError("the subscriber's token expired or was revoked; use the subscription"
            + " with a fresh token to resume it");
      }
      LOG.debug("subscription {} paused: its subscriber's token no longer stands", sub.id);
      return false;
    }
    NotificationType type = step == Step.HANDSHAKE ? NotificationType.HANDSHAKE
        : step == Step.HEARTBEAT ? NotificationType.HEARTBEAT : NotificationType.EVENT_NOTIFICATION;
    List<NotificationEvent> events = visibleEvents(subscriber, batch, payload);
    String json;
    synchronized (sub) {
      if (step == Step.HEARTBEAT) {
        sub.lastProbeAt = clock.instant();
      }
      json = encode(notification(sub, type, events, payload));
    }
    boolean ok = send(sub, json);
    synchronized (sub) {
      if (sub.deleted) {
        sub.scheduled = false;
        return false;
      }
      switch (step) {
        case HANDSHAKE:
          if (ok) {
            sub.handshakePending = false;
            sub.resource.setStatus(Subscription.SubscriptionStatus.ACTIVE);
            sub.failures = 0;
            LOG.debug("subscription {} active after handshake", sub.id);
          } else if (++sub.failures >= maxAttempts) {
            sub.handshakePending = false;
            toError(sub, "handshake failed");
          } else {
            retryLater(sub);
            return false;
          }
          break;
        case DELIVER:
          if (ok) {
            sub.lastSent = batch.get(batch.size() - 1).number();
            sub.failures = 0;
            sub.lastSentAt = clock.instant();
          } else if (sub.restHook()) {
            if (++sub.failures >= maxAttempts) {
              toError(sub, "delivery failed");
            } else {
              retryLater(sub);
              return false;
            }
          }
          break;
        default: // HEARTBEAT
          sub.heartbeatDue = false;
          if (ok) {
            sub.lastSentAt = clock.instant();
            if (sub.status() == Subscription.SubscriptionStatus.ERROR && !sub.lapsed) {
              sub.resource.setStatus(Subscription.SubscriptionStatus.ACTIVE);
              sub.resource.setError(null);
              sub.failures = 0;
              LOG.debug("subscription {} back to active after a heartbeat", sub.id);
            }
          }
      }
      if (next(sub) == null) {
        sub.scheduled = false;
        return false;
      }
      return true;
    }
  }

  /** What the subscription needs next; the caller holds its monitor. */
  private Step next(Sub sub) {
    if (sub.deleted || sub.lapsed) {
      return null;
    }
    Subscription.SubscriptionStatus st = sub.status();
    if (sub.restHook() && sub.handshakePending) {
      return Step.HANDSHAKE;
    }
    if (st == Subscription.SubscriptionStatus.ACTIVE && sub.lastSent < sub.lastEvent
        && sub.events.stream().anyMatch(e -> e.number() > sub.lastSent)
        && (sub.restHook() || !sub.sinks.isEmpty())) {
      return Step.DELIVER;
    }
    if (sub.lastSent < sub.lastEvent && sub.events.stream().noneMatch(e -> e.number() > sub.lastSent)) {
      sub.lastSent = sub.lastEvent; // what was pending has aged out; $events cannot bring it back
    }
    if (sub.heartbeatDue) {
      Instant now = clock.instant();
      boolean quiet = sub.lastSentAt.isBefore(now.minusSeconds(heartbeatPeriod(sub) / 2));
      // an endpoint in error is probed no more often than the longest backoff
      boolean probe = sub.restHook() && !sub.lastProbeAt.isAfter(now.minus(maxBackoff));
      boolean due = (st == Subscription.SubscriptionStatus.ACTIVE && quiet)
          || (st == Subscription.SubscriptionStatus.ERROR && probe);
      if (due && (sub.restHook() || !sub.sinks.isEmpty())) {
        return Step.HEARTBEAT;
      }
      sub.heartbeatDue = false;
    }
    return null;
  }

  private long heartbeatPeriod(Sub sub) {
    Extension e = sub.resource.getChannel().getExtensionByUrl(Backport.HEARTBEAT_PERIOD);
    try {
      return e == null ? 0 : Long.parseLong(e.getValue().primitiveValue());
    } catch (RuntimeException ex) {
      return 0;
    }
  }

  /** Schedules another try after the backoff; the caller holds the sub's monitor. */
  private void retryLater(Sub sub) {
    sub.waitingForRetry = true;
    sub.scheduled = false;
    try {
      timer.schedule(() -> {
        synchronized (sub) {
          sub.waitingForRetry = false;
        }
        kick(sub);
      }, backoff(sub.failures), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  /**
   * The events as this subscriber may see them now: a resource it can no longer read (deleted,
   * its session ended, moved out of its compartment) is announced by number and time only. Each
   * focus is read once; with full-resource payloads only its last event carries the resource,
   * and resources stop being attached once {@code maxPayloadBytes} is reached (the events after
   * go as id-only: a consumer reads the resource itself), so one answer never multiplies a large
   * resource.
   */
  private List<NotificationEvent> visibleEvents(Principal subscriber, List<StoredEvent> batch,
      PayloadContent payload) {
    Map<String, Optional<Resource>> readable = new java.util.HashMap<>();
    Map<String, Integer> lastIndex = new java.util.HashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      lastIndex.put(batch.get(i).focus(), i);
    }
    List<NotificationEvent> out = new ArrayList<>(batch.size());
    long budget = maxPayloadBytes;
    for (int i = 0; i < batch.size(); i++) {
      StoredEvent e = batch.get(i);
      Optional<Resource> r = readable.computeIfAbsent(e.focus(), f -> {
        int slash = f.indexOf('/');
        try {
          return repository.read(f.substring(0, slash), f.substring(slash + 1))
              .filter(x -> access.mayRead(subscriber, x));
        } catch (RuntimeException ex) {
          return Optional.empty();
        }
      });
      if (r.isEmpty()) {
        out.add(new NotificationEvent(e.number(), e.timestamp(), null, null));
        continue;
      }
      Resource body = null;
      if (payload == PayloadContent.FULL_RESOURCE && lastIndex.get(e.focus()) == i && budget > 0) {
        long size = ctx.newJsonParser().encodeResourceToString(r.get()).length();
        if (size <= budget) {
          body = r.get();
          budget -= size;
        } else {
          budget = 0;
        }
      }
      out.add(new NotificationEvent(e.number(), e.timestamp(), e.focus(), body));
    }
    return out;
  }

  private void toError(Sub sub, String why) {
    sub.resource.setStatus(Subscription.SubscriptionStatus.ERROR);
    sub.resource.setError(why);
    LOG.info("subscription {} set to error ({}); events keep being numbered", sub.id, why);
    Audits.record(audit, "notification-delivery", AuditEventAction.E, false,
        sub.subscriber.clientId(), sub.subscriber.subject().orElse(null), sub.ref(), clock.instant());
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

  /** Builds a notification; the caller holds the sub's monitor. */
  private SubscriptionNotification notification(Sub sub, NotificationType type,
      List<NotificationEvent> events, PayloadContent payload) {
    SubscriptionNotification.Builder b = SubscriptionNotification.builder(sub.ref(), type)
        .topic(topic).status(sub.status().toCode())
        .eventsSinceSubscriptionStart(sub.lastEvent).payload(payload);
    events.forEach(b::addEvent);
    return b.build();
  }

  private String encode(SubscriptionNotification n) {
    return ctx.newJsonParser().encodeResourceToString(n.toBundle());
  }

  private boolean send(Sub sub, String json) {
    return sub.restHook() ? post(sub, json) : pushWs(sub, json);
  }

  private boolean post(Sub sub, String json) {
    String endpoint;
    List<Header> headers;
    long timeout;
    synchronized (sub) {
      endpoint = sub.resource.getChannel().getEndpoint();
      headers = sub.headers;
      timeout = sub.timeoutSeconds;
    }
    try {
      Request.Builder rb = new Request.Builder().url(endpoint)
          .post(RequestBody.create(json, FHIR_JSON));
      for (Header h : headers) {
        rb.header(h.name(), h.value());
      }
      rb.header("User-Agent", userAgent);
      okhttp3.Call call = http.newCall(rb.build());
      call.timeout().timeout(timeout, TimeUnit.SECONDS);
      try (Response r = call.execute()) {
        boolean ok = r.isSuccessful();
        if (ok) {
          delivered.incrementAndGet();
        }
        return ok;
      }
    } catch (Exception e) { // OkHttp also throws InterruptedException undeclared when stopped
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.debug("rest-hook delivery for {} failed: {}", sub.id, e.getClass().getSimpleName());
      return false;
    }
  }

  private boolean pushWs(Sub sub, String json) {
    boolean any = false;
    for (WebSocketSink s : sub.sinks) {
      if (s.send(json)) {
        any = true;
        delivered.incrementAndGet();
      } else {
        sub.sinks.remove(s);
        s.close(1011, "delivery failed");
      }
    }
    return any;
  }

  // ------------------------------------------------------------------ $status, $events, websocket

  /** {@code $status}: a query-status notification (no events). */
  public Bundle status(String id, Principal owner) {
    Sub sub = owned(id, owner);
    synchronized (sub) {
      return notification(sub, NotificationType.QUERY_STATUS, List.of(), sub.payload).toBundle();
    }
  }

  /**
   * {@code $events}: the retained events numbered {@code since..until} (inclusive; either may be
   * null), as a query-event notification, each as its subscriber may see it now.
   */
  public Bundle events(String id, Principal owner, Long since, Long until, String content) {
    Sub sub = owned(id, owner);
    PayloadContent payload;
    try {
      payload = content == null ? null : PayloadContent.fromCode(content);
    } catch (IllegalArgumentException e) {
      throw new SubscriptionException(400, "content", "content must be empty, id-only or full-resource");
    }
    List<StoredEvent> out = new ArrayList<>();
    PayloadContent p;
    synchronized (sub) {
      for (StoredEvent e : sub.events) {
        if ((since == null || e.number() >= since) && (until == null || e.number() <= until)) {
          out.add(e);
          if (out.size() >= maxEventsPerSubscription) {
            break;
          }
        }
      }
      p = payload != null ? payload : sub.payload;
    }
    List<NotificationEvent> events = visibleEvents(owner, out, p);
    synchronized (sub) {
      return notification(sub, NotificationType.QUERY_EVENT, events, p).toBundle();
    }
  }

  /**
   * {@code $get-ws-binding-token}: a short-lived token (five minutes) to bind a websocket to the
   * subscriptions named; at most five live tokens per subscription (the oldest is dropped).
   */
  public Parameters bindingToken(List<String> ids, Principal owner) {
    if (ids.isEmpty()) {
      throw new SubscriptionException(400, "id", "name the subscription");
    }
    if (ids.size() > 1) {
      throw new SubscriptionException(400, "id", "this server binds one subscription per token;"
          + " ask once per subscription");
    }
    Sub sub = owned(ids.get(0), owner);
    if (sub.restHook()) {
      throw new SubscriptionException(400, "id", "Subscription/" + sub.id
          + " is not a websocket subscription");
    }
    if (websocketUrl == null) {
      throw new SubscriptionException(501, "", "this server has no websocket endpoint");
    }
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
    Instant exp = clock.instant().plus(Duration.ofMinutes(5));
    synchronized (sub) {
      sub.bindingTokens.removeIf(t -> {
        Binding b = bindings.get(t);
        if (b == null || !clock.instant().isBefore(b.expires())) {
          bindings.remove(t);
          return true;
        }
        return false;
      });
      while (sub.bindingTokens.size() >= MAX_BINDING_TOKENS_PER_SUBSCRIPTION) {
        bindings.remove(sub.bindingTokens.removeFirst());
      }
      sub.bindingTokens.addLast(token);
      bindings.put(token, new Binding(sub.id, exp));
    }
    Parameters p = new Parameters();
    p.addParameter().setName("token").setValue(new StringType(token));
    p.addParameter().setName("expiration").setValue(new DateTimeType(Date.from(exp)));
    p.addParameter().setName("subscription").setValue(new StringType(sub.ref()));
    p.addParameter().setName("websocket-url").setValue(new UrlType(websocketUrl.toString()));
    return p;
  }

  /** One subscription: {@link #bindingToken(List, Principal)}. */
  public Parameters bindingToken(String id, Principal owner) {
    return bindingToken(id == null ? List.of() : List.of(id), owner);
  }

  /**
   * A websocket sent {@code text}: {@code bind-with-token <token>} binds it (answered by a
   * handshake); anything else closes it. Returns false if the socket was closed.
   */
  public boolean onWebSocketText(WebSocketSink sink, String text) {
    String t = text == null ? "" : text.trim();
    if (!t.startsWith("bind-with-token ")) {
      sink.close(1008, "send bind-with-token <token>");
      return false;
    }
    String token = t.substring(16).trim();
    Binding b = bindings.remove(token);
    Sub sub = b == null || !clock.instant().isBefore(b.expires()) ? null : subs.get(b.subscriptionId());
    if (sub == null || !access.isLive(sub.subscriber)) {
      sink.close(1008, "unknown or expired binding token");
      return false;
    }
    String hs;
    synchronized (sub) {
      sub.bindingTokens.remove(token);
      if (sub.deleted) {
        sink.close(1008, "unknown or expired binding token");
        return false;
      }
      if (sub.sinks.size() >= maxWebSocketsPerSubscription) {
        sink.close(1008, "this subscription has its maximum of " + maxWebSocketsPerSubscription
            + " websockets");
        return false;
      }
      sub.sinks.add(sink);
      hs = encode(notification(sub, NotificationType.HANDSHAKE, List.of(), sub.payload));
    }
    sink.bound();
    sink.send(hs);
    kick(sub);
    return true;
  }

  public void onWebSocketClosed(WebSocketSink sink) {
    for (Sub s : subs.values()) {
      s.sinks.remove(sink);
    }
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    workers.shutdownNow();
    slowWorkers.shutdownNow();
    endpointChecks.shutdownNow();
    for (Sub s : subs.values()) {
      for (WebSocketSink w : s.sinks) {
        w.close(1001, "server stopping");
      }
    }
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  /** Builds a {@link SubscriptionEngine}. */
  public static final class Builder {
    private final FhirContext ctx;
    private final LaunchContextStore contexts;
    private final FhirResourceRepository repository;
    private final AccessRules access;
    private Clock clock = Clock.systemUTC();
    private AuditSink audit = e -> { };
    private EndpointPolicy policy = EndpointPolicy.publicHttpsOnly();
    private String topic = Backport.HALO_TOPIC;
    private String userAgent = "halo-sofa-notifications/0.1";
    private Duration retention = Duration.ofHours(24);
    private int maxEventsPerSubscription = 1_000;
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration defaultTimeout = Duration.ofSeconds(10);
    private Duration maxTimeout = Duration.ofSeconds(30);
    private int deliveryThreads = 32;
    private int maxSubscriptions = 10_000;
    private int maxSubscriptionsPerOwner = 20;
    private int maxSubscriptionsPerLaunch = 5;
    private int maxDeliveriesPerOwner = 8;
    private int slowDeliveryThreads = 8;
    private long maxPayloadBytes = 4L << 20;
    private Duration endpointCheckTimeout = Duration.ofSeconds(2);
    private int maxHeaders = 8;
    private int maxWebSocketsPerSubscription = 4;

    private Builder(FhirContext ctx, LaunchContextStore contexts, FhirResourceRepository repository,
        AccessRules access) {
      this.ctx = Objects.requireNonNull(ctx);
      this.contexts = Objects.requireNonNull(contexts);
      this.repository = Objects.requireNonNull(repository);
      this.access = Objects.requireNonNull(access);
    }

    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    public Builder audit(AuditSink v) { this.audit = Objects.requireNonNull(v); return this; }
    /** Where rest-hooks may point. Default {@link EndpointPolicy#publicHttpsOnly()}. */
    public Builder endpointPolicy(EndpointPolicy v) { this.policy = Objects.requireNonNull(v); return this; }
    /** The topic canonical. Default {@link Backport#HALO_TOPIC}. */
    public Builder topic(String v) { this.topic = Objects.requireNonNull(v); return this; }
    public Builder userAgent(String v) { this.userAgent = Objects.requireNonNull(v); return this; }
    /** How long events stay answerable by {@code $events}. Default 24 hours. */
    public Builder retention(Duration v) { this.retention = Objects.requireNonNull(v); return this; }
    /** Events kept per subscription for {@code $events}. Default 1,000. */
    public Builder maxEventsPerSubscription(int v) { this.maxEventsPerSubscription = v; return this; }
    /** Failed deliveries in a row before {@code error}. Default 5. */
    public Builder maxAttempts(int v) { this.maxAttempts = v; return this; }
    public Builder initialBackoff(Duration v) { this.initialBackoff = Objects.requireNonNull(v); return this; }
    public Builder maxBackoff(Duration v) { this.maxBackoff = Objects.requireNonNull(v); return this; }
    /** Connect timeout of each delivery. Default 5 s. */
    public Builder connectTimeout(Duration v) { this.connectTimeout = Objects.requireNonNull(v); return this; }
    /** Total time of a delivery when the subscription names no {@code backport-timeout}. Default 10 s. */
    public Builder defaultTimeout(Duration v) { this.defaultTimeout = Objects.requireNonNull(v); return this; }
    /** The largest {@code backport-timeout} accepted. Default 30 s. */
    public Builder maxTimeout(Duration v) { this.maxTimeout = Objects.requireNonNull(v); return this; }
    /** Deliveries in flight at once (one per subscription at most). Default 32. */
    public Builder deliveryThreads(int v) { this.deliveryThreads = v; return this; }
    /** Same as {@link #deliveryThreads(int)}. */
    public Builder threads(int v) { return deliveryThreads(v); }
    /** Subscriptions held at once. Default 10,000. */
    public Builder maxSubscriptions(int v) { this.maxSubscriptions = v; return this; }
    /**
     * Subscriptions one user (across clients and launches), or one client without a user, may
     * hold. Default 20.
     */
    public Builder maxSubscriptionsPerOwner(int v) { this.maxSubscriptionsPerOwner = v; return this; }
    /** Subscriptions one launch (an app's launch token) may hold. Default 5. */
    public Builder maxSubscriptionsPerLaunch(int v) { this.maxSubscriptionsPerLaunch = v; return this; }
    /**
     * Deliveries of one user (or client) in flight at once on the main workers, the rest waiting
     * their turn: what keeps one principal's new subscriptions from holding every worker. Default 8.
     */
    public Builder maxDeliveriesPerOwner(int v) { this.maxDeliveriesPerOwner = v; return this; }
    /**
     * Workers for subscriptions whose endpoint failed last time (timed out, refused, answered an
     * error): they retry here, apart from healthy ones. Default 8.
     */
    public Builder slowDeliveryThreads(int v) { this.slowDeliveryThreads = v; return this; }
    /**
     * Resource bytes one notification or {@code $events} answer carries at most; later events of
     * it go as id-only. Default 4 MiB.
     */
    public Builder maxPayloadBytes(long v) { this.maxPayloadBytes = v; return this; }
    /** How long an endpoint check (DNS included) may take when a subscription is made. Default 2 s. */
    public Builder endpointCheckTimeout(Duration v) { this.endpointCheckTimeout = Objects.requireNonNull(v); return this; }
    /** Headers a rest-hook subscription may carry. Default 8. */
    public Builder maxHeaders(int v) { this.maxHeaders = v; return this; }
    /** Websockets bound to one subscription at once. Default 4. */
    public Builder maxWebSocketsPerSubscription(int v) { this.maxWebSocketsPerSubscription = v; return this; }

    public SubscriptionEngine build() {
      if (maxAttempts < 1 || deliveryThreads < 1 || maxEventsPerSubscription < 1
          || maxSubscriptions < 1 || maxSubscriptionsPerOwner < 1 || maxSubscriptionsPerLaunch < 1
          || maxDeliveriesPerOwner < 1 || slowDeliveryThreads < 1 || maxPayloadBytes < 0
          || maxHeaders < 0
          || maxWebSocketsPerSubscription < 1) {
        throw new IllegalStateException("maxAttempts, deliveryThreads, maxEventsPerSubscription,"
            + " maxSubscriptions, maxSubscriptionsPerOwner and maxWebSocketsPerSubscription must be"
            + " positive");
      }
      if (defaultTimeout.toSeconds() < 1 || maxTimeout.compareTo(defaultTimeout) < 0
          || connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalStateException("timeouts must be positive, defaultTimeout at least 1 s"
            + " and at most maxTimeout");
      }
      return new SubscriptionEngine(this);
    }
  }
}
