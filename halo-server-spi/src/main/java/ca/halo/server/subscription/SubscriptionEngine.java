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
import ca.halo.server.internal.FhirJson;
import ca.halo.server.internal.NotificationJson;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * recovery. Its state lives in a {@link SubscriptionStore}: with a shared store, several nodes
 * run one engine each and the subscriptions survive a restart.
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
 * <p><b>Delivery.</b> At least once and in order per subscription; each subscription is delivered
 * by one node at a time, under a lease in the store that its node renews every
 * {@code leaseTtl / 3}: when a node stops, another takes its subscriptions over within
 * {@code leaseTtl} (default 10 s) plus one poll. Each node polls the store for work every
 * {@code pollInterval} (default 500 ms: the delay for events numbered on another node) and at once
 * for its own. Healthy subscriptions run on {@code deliveryThreads} workers, at most
 * {@code maxDeliveriesPerOwner} of one user at once (the rest wait their turn in that user's lane);
 * a subscription whose endpoint failed last time retries on {@code slowDeliveryThreads} workers of
 * its own, so a slow or dead endpoint delays only itself. Every call is bounded (connect timeout,
 * and a total time of the subscription's {@code backport-timeout}, 1 to {@code maxTimeout}
 * seconds). Rest-hook endpoints pass the {@link EndpointPolicy} when accepted (off the request
 * thread, within {@code endpointCheckTimeout}) and at every connection; no redirects, no proxy. A
 * rest-hook subscription whose endpoint keeps failing goes to {@code error} but keeps numbering
 * its events; heartbeats keep probing it (no more often than {@code maxBackoff}), and the first
 * that succeeds returns it to {@code active} and resumes delivery where it stopped. A websocket is
 * served by the node it is connected to. With full-resource payloads a resource is carried once per
 * notification or {@code $events} answer, up to {@code maxPayloadBytes} of resources.
 *
 * <p><b>Bounds.</b> At most {@code maxSubscriptions} subscriptions, {@code maxSubscriptionsPerOwner}
 * per user (across clients and launches), {@code maxSubscriptionsPerLaunch} per launch,
 * {@code maxEventsPerSubscription} retained events each (for {@code retention}, default 24 h),
 * {@code maxHeaders} headers of at most 1 KiB, {@code maxWebSocketsPerSubscription} sockets per
 * subscription on one node and five live binding tokens per subscription. Past a bound the request
 * is refused with a clear error; nothing is silently dropped but the oldest retained events.
 *
 * <p>Thread-safe. Deliveries run on {@code halo-subscriptions-N} and
 * {@code halo-subscriptions-slow-N} threads, endpoint checks on
 * {@code halo-subscriptions-endpoint-check}, polling and lease renewal on
 * {@code halo-subscriptions-timer}; {@link #close()} stops them all and gives its leases back.
 *
 * <p>Spec: Subscriptions R5 Backport IG (R4 profiles), HALO CA:FSub and our decisions (topic
 * canonical, filters patient/launch/resource-type, default payload id-only).
 */
public final class SubscriptionEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionEngine.class);
  private static final MediaType FHIR_JSON = MediaType.get("application/fhir+json; charset=utf-8");
  private static final int MAX_HEADER_CHARS = 1024;
  private static final int MAX_ENDPOINT_CHARS = 2048;
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
  private final SubscriptionStore store;
  private final String node;
  private final ca.halo.server.observe.SofaObserver observer;
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
  private final Duration leaseTtl;
  private final int maxHeaders;
  private final int maxWebSocketsPerSubscription;
  private final ScheduledThreadPoolExecutor timer;
  private final ThreadPoolExecutor workers;
  private final ThreadPoolExecutor slowWorkers;
  private final ThreadPoolExecutor endpointChecks;
  private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
  /** Subscriptions this node is working on (leased, queued or running). */
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  /** Websockets bound on this node, by subscription. */
  private final Map<String, List<WebSocketSink>> sinks = new ConcurrentHashMap<>();
  private final AtomicBoolean pollQueued = new AtomicBoolean();
  private final OkHttpClient http;
  private final SecureRandom random = new SecureRandom();
  private final AtomicLong delivered = new AtomicLong();
  private final URI websocketUrl;
  private volatile boolean closed;

  private record Header(String name, String value) {}

  private enum Step { HANDSHAKE, DELIVER, HEARTBEAT }

  /**
   * The deliveries of one subscriber (a user, or a client without one): at most
   * {@code maxDeliveriesPerOwner} in flight, the others queued here in turn, so one principal's
   * slow endpoints cannot hold the shared workers.
   */
  private static final class Lane {
    int running;
    final Deque<String> waiting = new ArrayDeque<>();
  }

  /** Parsed filters: resource type, patient and launch; all optional. */
  record Filters(String resourceType, String patient, String launch) {}

  private SubscriptionEngine(Builder b, SubscriptionStore store) {
    this.websocketUrl = b.websocketUrl;
    this.ctx = b.ctx;
    this.clock = b.clock;
    this.contexts = b.contexts;
    this.repository = b.repository;
    this.access = b.access;
    this.audit = b.audit;
    this.policy = b.policy;
    this.store = store;
    this.node = b.node != null ? b.node : "node-" + HexFormat.of().formatHex(randomBytes(6));
    this.observer = b.observer;
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
    this.leaseTtl = b.leaseTtl;
    this.maxHeaders = b.maxHeaders;
    this.maxWebSocketsPerSubscription = b.maxWebSocketsPerSubscription;
    this.workers = pool(b.deliveryThreads, "halo-subscriptions-", new LinkedBlockingQueue<>());
    this.slowWorkers = pool(b.slowDeliveryThreads, "halo-subscriptions-slow-", new LinkedBlockingQueue<>());
    // endpoint checks resolve DNS: off the request thread, few at once, each bounded in time
    this.endpointChecks = pool(4, "halo-subscriptions-endpoint-check-",
        new java.util.concurrent.ArrayBlockingQueue<>(16));
    this.timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "halo-subscriptions-timer");
      th.setDaemon(true);
      return th;
    });
    this.timer.setRemoveOnCancelPolicy(true);
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
    long poll = b.pollInterval.toMillis();
    timer.scheduleWithFixedDelay(this::pollSafely, poll, poll, TimeUnit.MILLISECONDS);
    long renew = Math.max(100, leaseTtl.toMillis() / 3);
    timer.scheduleWithFixedDelay(this::renewLeases, renew, renew, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::purge, 60, 60, TimeUnit.SECONDS);
  }

  /** Drops expired binding tokens and events past the retention (every node; deletes are idempotent). */
  private void purge() {
    if (closed) {
      return;
    }
    try {
      Instant now = clock.instant();
      store.purge(now, now.minus(retention));
    } catch (RuntimeException e) {
      LOG.warn("subscription purge failed ({})", e.getClass().getSimpleName());
    }
  }

  private static ThreadPoolExecutor pool(int n, String name,
      java.util.concurrent.BlockingQueue<Runnable> queue) {
    AtomicLong count = new AtomicLong();
    ThreadPoolExecutor p = new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, queue, r -> {
      Thread t = new Thread(r, name + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    p.allowCoreThreadTimeOut(true);
    return p;
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

  /** This node's name in the store's leases. */
  public String node() {
    return node;
  }

  /** Subscriptions held (on every node), by status: for metrics. */
  public Map<String, Integer> countByStatus() {
    return store.countByStatus();
  }

  /** Subscriptions this node is working on now (leased, queued or sending): for metrics. */
  public int deliveriesInFlight() {
    return inFlight.size();
  }

  /** Deliveries waiting for a free place in their subscriber's lane on this node: for metrics. */
  public int deliveriesQueued() {
    int n = 0;
    for (Lane l : lanes.values()) {
      synchronized (l) {
        n += l.waiting.size();
      }
    }
    return n;
  }

  /** Notifications delivered so far by this node (rest-hook posts and websocket frames). */
  public long deliveredCount() {
    return delivered.get();
  }

  /** Subscriptions held now (by every node of the store). */
  public int size() {
    return store.size();
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
    SubscriptionRecord.Builder b = configure(s.copy(), owner)
        .id(HexFormat.of().formatHex(randomBytes(12)))
        .ownerKey(ownerKey(owner)).quotaKey(quotaKey(owner)).subscriber(owner)
        .createdAt(clock.instant());
    SubscriptionRecord r = b.build();
    store.create(r, maxSubscriptions, maxSubscriptionsPerOwner, maxSubscriptionsPerLaunch);
    Audits.record(audit, "subscription-create", AuditEventAction.C, true, owner.clientId(),
        owner.subject().orElse(null), "Subscription/" + r.id(), clock.instant());
    kick();
    return toResource(r);
  }

  /** Replaces a subscription's settings; event numbers carry on. Status requested re-handshakes. */
  public Subscription update(String id, Subscription s, Principal owner) {
    owned(id, owner);
    SubscriptionRecord cfg = configure(s.copy(), owner).id(id).ownerKey(ownerKey(owner))
        .quotaKey(quotaKey(owner)).subscriber(owner).createdAt(clock.instant()).build();
    SubscriptionRecord r = store.update(id, old -> cfg.toBuilder().createdAt(old.createdAt())
        .lastSent(old.lastSent()).lastSentAt(old.lastSentAt().orElse(null))
        .quotaKey(old.quotaKey()).build()).orElseThrow(() -> notKnown(id));
    kick();
    return toResource(r);
  }

  public Subscription read(String id, Principal owner) {
    return toResource(owned(id, owner));
  }

  public List<Subscription> list(Principal owner) {
    List<Subscription> out = new ArrayList<>();
    for (SubscriptionRecord r : store.findByOwner(ownerKey(owner))) {
      out.add(toResource(r));
    }
    return out;
  }

  public void delete(String id, Principal owner) {
    owned(id, owner);
    store.delete(id);
    closeSinks(id, 1000, "subscription deleted");
  }

  /** Ends every subscription held by a launch token of {@code sessionId} (its launch ended). */
  public void onSessionEnded(String sessionId) {
    for (String id : store.deleteBySubscriberSession(sessionId)) {
      closeSinks(id, 1000, "the launch ended");
    }
  }

  private void closeSinks(String id, int code, String why) {
    List<WebSocketSink> gone = sinks.remove(id);
    if (gone != null) {
      gone.forEach(w -> w.close(code, why));
    }
  }

  private static SubscriptionException notKnown(String id) {
    return new SubscriptionException(404, "Subscription", "Subscription/" + id + " is not known");
  }

  /**
   * The caller's own subscription. Each use by its owner renews it: the caller's (fresh) token
   * becomes the subscriber from now on, and a subscription paused because the earlier token
   * lapsed resumes (a rest-hook with a new handshake).
   */
  private SubscriptionRecord owned(String id, Principal owner) {
    SubscriptionRecord r = id == null ? null : store.find(id).orElse(null);
    if (r == null || !r.ownerKey().equals(ownerKey(owner))) {
      throw notKnown(id);
    }
    if (!access.isLive(owner)) {
      throw new SubscriptionException(401, "", "the launch this token belongs to has ended");
    }
    boolean[] resumed = {false};
    SubscriptionRecord renewed = store.update(id, old -> {
      SubscriptionRecord.Builder b = old.toBuilder();
      Principal before = old.subscriber();
      if (owner.expiresAt().isEmpty() || before.expiresAt().isEmpty()
          || !owner.expiresAt().get().isBefore(before.expiresAt().get()) || !access.isLive(before)) {
        b.subscriber(owner);
      }
      if (old.lapsed() && !old.status().equals("off")) {
        resumed[0] = true;
        b.lapsed(false).error(null).failures(0).nextAttemptAt(null)
            .status(old.restHook() ? "requested" : "active").handshakePending(old.restHook());
      }
      return b.build();
    }).orElseThrow(() -> notKnown(id));
    if (resumed[0]) {
      LOG.debug("subscription {} resumed with its owner's fresh token", id);
      kick();
    }
    return renewed;
  }

  /** The Subscription resource of a record: as accepted, with id, status and error. */
  private Subscription toResource(SubscriptionRecord r) {
    Subscription s = (Subscription) ctx.newJsonParser().parseResource(r.subscriptionJson());
    s.setId(r.id());
    s.setStatus(Subscription.SubscriptionStatus.fromCode(r.status()));
    s.setError(r.error().orElse(null));
    return s;
  }

  /** Checks a Subscription and reads what the engine needs of it. */
  private SubscriptionRecord.Builder configure(Subscription s, Principal owner) {
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
    long maxCount = bounded(ch, Backport.MAX_COUNT, 50, 1, 1000);
    List<String> headers = new ArrayList<>();
    boolean rest;
    if (ch.getType() == Subscription.SubscriptionChannelType.RESTHOOK) {
      rest = true;
      if (ch.getEndpoint() != null && ch.getEndpoint().length() > MAX_ENDPOINT_CHARS) {
        throw new SubscriptionException(400, "Subscription.channel.endpoint",
            "the endpoint may have at most " + MAX_ENDPOINT_CHARS + " characters");
      }
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
                  + " by a subscriber (only Authorization and application X- headers, no control"
                  + " characters)");
        }
        headers.add(name + ": " + value);
      }
    } else if (ch.getType() == Subscription.SubscriptionChannelType.WEBSOCKET) {
      rest = false;
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
    s.setId((String) null);
    s.setStatus(null);
    s.setError(null);
    return SubscriptionRecord.builder()
        .subscriptionJson(ctx.newJsonParser().encodeResourceToString(s))
        .channel(rest ? SubscriptionRecord.Channel.REST_HOOK : SubscriptionRecord.Channel.WEBSOCKET)
        .endpoint(rest ? ch.getEndpoint() : null).headers(headers).payload(payload.code())
        .timeoutSeconds(timeout).heartbeatSeconds(heartbeat).maxCount((int) maxCount)
        .filterType(filters.resourceType()).filterPatient(filters.patient())
        .filterLaunch(filters.launch())
        .status(rest ? "requested" : "active").handshakePending(rest);
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
   * subscription whose subscriber may read {@code r}, and wakes delivery.
   */
  public void onChange(Resource r, boolean created, String sessionId) {
    String focus = r.fhirType() + "/" + r.getIdElement().getIdPart();
    String patient = PatientCompartment.patientOf(ctx, r).orElse(null);
    Instant now = clock.instant();
    String launch = sessionId == null ? null
        : contexts.findBySession(sessionId, now).map(StoredContext::launchId).orElse(null);
    boolean any = false;
    for (SubscriptionRecord sub : store.matching(r.fhirType(), patient, launch)) {
      if (!access.mayRead(sub.subscriber(), r)) {
        continue; // never numbered for a subscriber that could not read it
      }
      any |= store.appendEvent(sub.id(), now, focus, maxEventsPerSubscription,
          now.minus(retention)) > 0;
    }
    if (any) {
      kick();
    }
  }

  // ------------------------------------------------------------------ delivery

  /** Asks for a poll of the store at once (debounced): this node has new work. */
  private void kick() {
    if (closed || !pollQueued.compareAndSet(false, true)) {
      return;
    }
    try {
      timer.execute(this::pollSafely);
    } catch (RejectedExecutionException e) {
      pollQueued.set(false);
    }
  }

  private void pollSafely() {
    pollQueued.set(false);
    if (closed) {
      return;
    }
    try {
      poll();
    } catch (RuntimeException e) {
      LOG.warn("subscription poll failed ({}); next poll retries", e.getClass().getSimpleName());
    }
  }

  /** Leases what has work now and queues it; drops sockets of subscriptions gone elsewhere. */
  private void poll() {
    if (!sinks.isEmpty()) {
      Set<String> held = Set.copyOf(sinks.keySet());
      Set<String> known = store.known(held);
      for (String id : held) {
        if (!known.contains(id)) {
          closeSinks(id, 1000, "subscription deleted");
        }
      }
    }
    List<SubscriptionRecord> due = store.claimDue(node, clock.instant(), leaseTtl, maxBackoff,
        sinks.keySet(), 256);
    for (SubscriptionRecord r : due) {
      if (inFlight.add(r.id())) {
        enqueue(r);
      }
    }
  }

  private void renewLeases() {
    if (closed) {
      return;
    }
    try {
      store.renewLeases(node, clock.instant().plus(leaseTtl));
    } catch (RuntimeException e) {
      LOG.warn("subscription lease renewal failed ({})", e.getClass().getSimpleName());
    }
  }

  /**
   * Runs a leased subscription now if it may, else queues it. One whose endpoint failed last time
   * goes to the slow pool, so failing and slow endpoints never hold the workers of healthy ones; a
   * healthy one goes through its owner's lane, so one principal cannot take every worker.
   */
  private void enqueue(SubscriptionRecord r) {
    if (r.failures() > 0) {
      try {
        slowWorkers.execute(() -> run(r.id(), null, r.quotaKey()));
      } catch (RejectedExecutionException e) {
        giveBack(r.id());
      }
      return;
    }
    Lane lane = lanes.computeIfAbsent(r.quotaKey(), k -> new Lane());
    boolean start;
    synchronized (lane) {
      start = lane.running < maxDeliveriesPerOwner;
      if (start) {
        lane.running++;
      } else {
        lane.waiting.addLast(r.id());
      }
    }
    if (start) {
      submit(r.id(), lane, r.quotaKey());
    }
  }

  private void submit(String id, Lane lane, String quotaKey) {
    try {
      workers.execute(() -> run(id, lane, quotaKey));
    } catch (RejectedExecutionException e) {
      giveBack(id);
      synchronized (lane) {
        lane.running--;
      }
    }
  }

  private void giveBack(String id) {
    inFlight.remove(id);
    try {
      store.release(id, node);
    } catch (RuntimeException e) {
      // the lease expires by itself
    }
  }

  /**
   * One step of one leased subscription on a worker; then its lane's place goes to the next
   * waiting subscription of the same owner, and this one, if it has more to do now, queues again
   * (its lease kept); otherwise it gives the lease back.
   */
  private void run(String id, Lane lane, String quotaKey) {
    Optional<SubscriptionRecord> more = Optional.empty();
    try {
      more = step(id);
    } catch (RuntimeException e) {
      LOG.warn("subscription {} work failed ({}); retrying later", id, e.getClass().getSimpleName());
      try {
        store.update(id, r -> r.toBuilder().failures(r.failures() + 1)
            .nextAttemptAt(clock.instant().plusMillis(backoff(r.failures() + 1))).build());
      } catch (RuntimeException ignored) {
        // the lease expires and another poll retries
      }
    }
    if (lane != null) {
      String next;
      synchronized (lane) {
        next = lane.waiting.pollFirst();
        if (next == null) {
          lane.running--;
          if (lane.running == 0) {
            lanes.remove(quotaKey, lane);
          }
        }
      }
      if (next != null) {
        submit(next, lane, quotaKey);
      }
    }
    if (more.isPresent() && !closed) {
      enqueue(more.get());
    } else {
      giveBack(id);
    }
  }

  /** Does one step; the record if it has more to do at once (it stays leased). */
  private Optional<SubscriptionRecord> step(String id) {
    SubscriptionRecord r = store.find(id).orElse(null);
    if (r == null) {
      closeSinks(id, 1000, "subscription deleted");
      return Optional.empty();
    }
    Instant now = clock.instant();
    List<WebSocketSink> local = sinks.getOrDefault(id, List.of());
    Step step = next(r, now, !local.isEmpty());
    if (step == null) {
      return Optional.empty();
    }
    Principal subscriber = r.subscriber();
    if (!access.sessionLive(subscriber)) {
      store.delete(id);
      closeSinks(id, 1000, "the launch ended");
      return Optional.empty();
    }
    if (!access.isLive(subscriber)) {
      store.update(id, x -> x.toBuilder().lapsed(true).status("error")
          .error("the subscriber's authorization ended (expired or revoked); use the subscription"
              + " with a fresh token to resume it").build());
      LOG.debug("subscription {} paused: its subscriber no longer stands", id);
      return Optional.empty();
    }
    List<SubscriptionEvent> batch = step == Step.DELIVER
        ? store.events(id, r.lastSent() + 1, r.lastEvent(), r.maxCount()) : List.of();
    if (step == Step.DELIVER && batch.isEmpty()) {
      // what was pending aged out of the log; $events cannot bring it back either
      store.update(id, x -> x.toBuilder().lastSent(Math.max(x.lastSent(), r.lastEvent())).build());
      return Optional.empty();
    }
    NotificationType type = step == Step.HANDSHAKE ? NotificationType.HANDSHAKE
        : step == Step.HEARTBEAT ? NotificationType.HEARTBEAT : NotificationType.EVENT_NOTIFICATION;
    PayloadContent payload = PayloadContent.fromCode(r.payload());
    String status = step == Step.HANDSHAKE ? "requested" : r.status();
    byte[] json = encode(notification(r, status, type, visibleEvents(subscriber, batch, payload),
        payload), payload);
    boolean ok = r.restHook() ? post(r, json)
        : pushWs(id, new String(json, java.nio.charset.StandardCharsets.UTF_8));
    Instant after = clock.instant();
    if (step == Step.DELIVER) {
      try {
        observer.notification(r.restHook() ? "rest-hook" : "websocket", ok,
            Duration.between(batch.get(0).timestamp(), after));
      } catch (RuntimeException e) {
        // an observer never fails a delivery
      }
    }
    long sentUpTo = batch.isEmpty() ? 0 : batch.get(batch.size() - 1).number();
    Optional<SubscriptionRecord> next = store.update(id, x -> {
      SubscriptionRecord.Builder b = x.toBuilder();
      switch (step) {
        case HANDSHAKE:
          if (ok) {
            b.handshakePending(false).status("active").failures(0).nextAttemptAt(null).error(null);
            LOG.debug("subscription {} active after handshake", id);
          } else if (x.failures() + 1 >= maxAttempts) {
            b.handshakePending(false).status("error").error("handshake failed")
                .failures(x.failures() + 1).nextAttemptAt(null);
          } else {
            b.failures(x.failures() + 1).nextAttemptAt(after.plusMillis(backoff(x.failures() + 1)));
          }
          break;
        case DELIVER:
          if (ok) {
            b.lastSent(Math.max(x.lastSent(), sentUpTo)).failures(0).nextAttemptAt(null)
                .lastSentAt(after);
          } else if (x.restHook()) {
            if (x.failures() + 1 >= maxAttempts) {
              b.status("error").error("delivery failed").failures(x.failures() + 1)
                  .nextAttemptAt(null).lastProbeAt(after);
            } else {
              b.failures(x.failures() + 1).nextAttemptAt(after.plusMillis(backoff(x.failures() + 1)));
            }
          }
          break;
        default: // HEARTBEAT
          b.lastProbeAt(after);
          if (ok) {
            b.lastSentAt(after);
            if (x.status().equals("error") && !x.lapsed()) {
              b.status("active").error(null).failures(0).nextAttemptAt(null);
              LOG.debug("subscription {} back to active after a heartbeat", id);
            }
          }
      }
      return b.build();
    });
    if (next.isPresent() && step != Step.HEARTBEAT && !ok && next.get().status().equals("error")) {
      LOG.info("subscription {} set to error; events keep being numbered", id);
      Audits.record(audit, "notification-delivery", AuditEventAction.E, false,
          subscriber.clientId(), subscriber.subject().orElse(null), "Subscription/" + id, after);
    }
    return next.filter(x -> next(x, clock.instant(), !sinks.getOrDefault(id, List.of()).isEmpty()) != null);
  }

  /** What a subscription needs next on this node, or null. */
  private Step next(SubscriptionRecord r, Instant now, boolean socketHere) {
    if (!r.due(now, maxBackoff)) {
      return null;
    }
    if (r.restHook() && r.handshakePending()) {
      return Step.HANDSHAKE;
    }
    if (r.status().equals("active") && r.lastSent() < r.lastEvent()) {
      return r.restHook() || socketHere ? Step.DELIVER : null;
    }
    if (r.heartbeatSeconds() > 0) {
      return r.restHook() || socketHere ? Step.HEARTBEAT : null;
    }
    return null;
  }

  private long backoff(int failures) {
    long ms = initialBackoff.toMillis() << Math.min(20, Math.max(0, failures - 1));
    return Math.min(ms, maxBackoff.toMillis());
  }

  /**
   * The events as this subscriber may see them now: a resource it can no longer read (deleted,
   * its session ended, moved out of its compartment) is announced by number and time only. Each
   * focus is read once; with full-resource payloads only its last event carries the resource,
   * and resources stop being attached once {@code maxPayloadBytes} is reached (the events after
   * go as id-only: a consumer reads the resource itself), so one answer never multiplies a large
   * resource.
   */
  private List<NotificationEvent> visibleEvents(Principal subscriber, List<SubscriptionEvent> batch,
      PayloadContent payload) {
    Map<String, Optional<Resource>> readable = new java.util.HashMap<>();
    Map<String, Integer> lastIndex = new java.util.HashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      lastIndex.put(batch.get(i).focus(), i);
    }
    List<NotificationEvent> out = new ArrayList<>(batch.size());
    long budget = maxPayloadBytes;
    for (int i = 0; i < batch.size(); i++) {
      SubscriptionEvent e = batch.get(i);
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
        long size = FhirJson.encode(ctx.newJsonParser(), r.get()).length;
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

  private SubscriptionNotification notification(SubscriptionRecord r, String status,
      NotificationType type, List<NotificationEvent> events, PayloadContent payload) {
    // An event-notification counts up to its own last event: the later ones, already numbered,
    // follow in their own notification (one delivery in flight per subscription, in order), and a
    // count beyond them sent every consumer to $events for what was on its way (issue 18's
    // profile: an $events call for most notifications while events came 10 a second).
    long since = r.lastEvent();
    if (type == NotificationType.EVENT_NOTIFICATION && !events.isEmpty()) {
      since = events.stream().mapToLong(NotificationEvent::number).max().getAsLong();
    }
    SubscriptionNotification.Builder b = SubscriptionNotification.builder("Subscription/" + r.id(), type)
        .topic(topic).status(status).eventsSinceSubscriptionStart(since).payload(payload);
    events.forEach(b::addEvent);
    return b.build();
  }

  /**
   * The notification Bundle as UTF-8 JSON, once per delivery: written field by field where
   * {@link NotificationJson} can (every shape but a resource to carry), else encoded by HAPI.
   */
  private byte[] encode(SubscriptionNotification n, PayloadContent payload) {
    byte[] direct = NotificationJson.write(n, payload, new Date(),
        "urn:uuid:" + java.util.UUID.randomUUID());
    return direct != null ? direct : FhirJson.encode(ctx.newJsonParser(), n.toBundle());
  }


  private boolean post(SubscriptionRecord r, byte[] json) {
    try {
      Request.Builder rb = new Request.Builder().url(r.endpoint().orElseThrow())
          .post(RequestBody.create(json, FHIR_JSON));
      for (String h : r.headers()) {
        int c = h.indexOf(':');
        rb.header(h.substring(0, c).trim(), h.substring(c + 1).trim());
      }
      rb.header("User-Agent", userAgent);
      okhttp3.Call call = http.newCall(rb.build());
      call.timeout().timeout(r.timeoutSeconds(), TimeUnit.SECONDS);
      try (Response resp = call.execute()) {
        boolean ok = resp.isSuccessful();
        if (ok) {
          delivered.incrementAndGet();
        }
        return ok;
      }
    } catch (Exception e) { // OkHttp also throws InterruptedException undeclared when stopped
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.debug("rest-hook delivery for {} failed: {}", r.id(), e.getClass().getSimpleName());
      return false;
    }
  }

  private boolean pushWs(String id, String json) {
    boolean any = false;
    List<WebSocketSink> list = sinks.getOrDefault(id, List.of());
    for (WebSocketSink s : list) {
      if (s.send(json)) {
        any = true;
        delivered.incrementAndGet();
      } else {
        list.remove(s);
        s.close(1011, "delivery failed");
      }
    }
    return any;
  }

  // ------------------------------------------------------------------ $status, $events, websocket

  /** {@code $status}: a query-status notification (no events). */
  public Bundle status(String id, Principal owner) {
    SubscriptionRecord r = owned(id, owner);
    return notification(r, r.status(), NotificationType.QUERY_STATUS, List.of(),
        PayloadContent.fromCode(r.payload())).toBundle();
  }

  /**
   * {@code $events}: the retained events numbered {@code since..until} (inclusive; either may be
   * null), as a query-event notification, each as its subscriber may see it now.
   */
  public Bundle events(String id, Principal owner, Long since, Long until, String content) {
    SubscriptionRecord r = owned(id, owner);
    PayloadContent payload;
    try {
      payload = content == null ? PayloadContent.fromCode(r.payload()) : PayloadContent.fromCode(content);
    } catch (IllegalArgumentException e) {
      throw new SubscriptionException(400, "content", "content must be empty, id-only or full-resource");
    }
    List<SubscriptionEvent> out = store.events(id, since == null ? 1 : since,
        until == null ? Long.MAX_VALUE : until, maxEventsPerSubscription);
    return notification(r, r.status(), NotificationType.QUERY_EVENT,
        visibleEvents(owner, out, payload), payload).toBundle();
  }

  /**
   * {@code $get-ws-binding-token}: a short-lived token (five minutes) to bind a websocket to the
   * subscriptions named, on any node; at most five live tokens per subscription.
   */
  public Parameters bindingToken(List<String> ids, Principal owner) {
    if (ids.isEmpty()) {
      throw new SubscriptionException(400, "id", "name the subscription");
    }
    if (ids.size() > 1) {
      throw new SubscriptionException(400, "id", "this server binds one subscription per token;"
          + " ask once per subscription");
    }
    SubscriptionRecord r = owned(ids.get(0), owner);
    if (r.restHook()) {
      throw new SubscriptionException(400, "id", "Subscription/" + r.id()
          + " is not a websocket subscription");
    }
    if (websocketUrl == null) {
      throw new SubscriptionException(501, "", "this server has no websocket endpoint");
    }
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
    Instant exp = clock.instant().plus(Duration.ofMinutes(5));
    store.putBindingToken(token, r.id(), exp, MAX_BINDING_TOKENS_PER_SUBSCRIPTION);
    Parameters p = new Parameters();
    p.addParameter().setName("token").setValue(new StringType(token));
    p.addParameter().setName("expiration").setValue(new DateTimeType(Date.from(exp)));
    p.addParameter().setName("subscription").setValue(new StringType("Subscription/" + r.id()));
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
    Optional<SubscriptionRecord> r = store.takeBindingToken(t.substring(16).trim(), clock.instant())
        .flatMap(store::find);
    if (r.isEmpty() || !access.isLive(r.get().subscriber())) {
      sink.close(1008, "unknown or expired binding token");
      return false;
    }
    String id = r.get().id();
    List<WebSocketSink> list = sinks.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>());
    synchronized (list) {
      if (list.size() >= maxWebSocketsPerSubscription) {
        sink.close(1008, "this subscription has its maximum of " + maxWebSocketsPerSubscription
            + " websockets");
        return false;
      }
      list.add(sink);
    }
    sink.bound();
    PayloadContent payload = PayloadContent.fromCode(r.get().payload());
    sink.send(new String(encode(notification(r.get(), r.get().status(),
        NotificationType.HANDSHAKE, List.of(), payload), payload),
        java.nio.charset.StandardCharsets.UTF_8));
    kick();
    return true;
  }

  public void onWebSocketClosed(WebSocketSink sink) {
    for (Map.Entry<String, List<WebSocketSink>> e : sinks.entrySet()) {
      e.getValue().remove(sink);
      if (e.getValue().isEmpty()) {
        sinks.remove(e.getKey(), e.getValue());
      }
    }
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Stops this node's engine: its workers, timers and sockets; gives its leases back. */
  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    workers.shutdownNow();
    slowWorkers.shutdownNow();
    endpointChecks.shutdownNow();
    for (List<WebSocketSink> list : sinks.values()) {
      list.forEach(w -> w.close(1001, "server stopping"));
    }
    sinks.clear();
    for (String id : List.copyOf(inFlight)) {
      giveBack(id);
    }
    try {
      // every lease this node holds ends now: another node takes its subscriptions at once
      store.renewLeases(node, clock.instant().minusMillis(1));
    } catch (RuntimeException e) {
      // they expire by themselves within the lease
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
    private SubscriptionStore store;
    private String node;
    private String topic = Backport.HALO_TOPIC;
    private ca.halo.server.observe.SofaObserver observer = ca.halo.server.observe.SofaObserver.NONE;
    private String userAgent = "halo-sofa-notifications/0.1";
    private Duration retention = Duration.ofHours(24);
    private int maxEventsPerSubscription = 1_000;
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration defaultTimeout = Duration.ofSeconds(10);
    private Duration maxTimeout = Duration.ofSeconds(30);
    private Duration pollInterval = Duration.ofMillis(500);
    private Duration leaseTtl = Duration.ofSeconds(10);
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
    private URI websocketUrl;

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
    /** Where subscriptions and their events live. Default: a new {@link InMemorySubscriptionStore}. */
    public Builder store(SubscriptionStore v) { this.store = Objects.requireNonNull(v); return this; }
    /** This node's name in the store's leases. Default: random. */
    public Builder node(String v) { this.node = Objects.requireNonNull(v); return this; }
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
    /** How often a node asks the store for work: the delay of events numbered on another node. Default 500 ms. */
    /** Hears every notification sent (metrics). Default none. */
    public Builder observer(ca.halo.server.observe.SofaObserver v) {
      this.observer = Objects.requireNonNull(v);
      return this;
    }

    public Builder pollInterval(Duration v) { this.pollInterval = Objects.requireNonNull(v); return this; }
    /** How long a node's lease lasts without renewal: the takeover time when it stops. Default 10 s. */
    public Builder leaseTtl(Duration v) { this.leaseTtl = Objects.requireNonNull(v); return this; }
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
    /** Websockets bound to one subscription at once on one node. Default 4. */
    public Builder maxWebSocketsPerSubscription(int v) { this.maxWebSocketsPerSubscription = v; return this; }
    /**
     * Where websocket consumers connect ({@code websocket-url} of {@code $get-ws-binding-token});
     * set by the server that mounts the endpoint. Default none: binding tokens are answered 501.
     */
    public Builder websocketUrl(URI v) { this.websocketUrl = Objects.requireNonNull(v); return this; }

    public SubscriptionEngine build() {
      if (maxAttempts < 1 || deliveryThreads < 1 || maxEventsPerSubscription < 1
          || maxSubscriptions < 1 || maxSubscriptionsPerOwner < 1 || maxSubscriptionsPerLaunch < 1
          || maxDeliveriesPerOwner < 1 || slowDeliveryThreads < 1 || maxPayloadBytes < 0
          || maxHeaders < 0 || maxWebSocketsPerSubscription < 1) {
        throw new IllegalStateException("maxAttempts, deliveryThreads, maxEventsPerSubscription,"
            + " maxSubscriptions, maxSubscriptionsPerOwner and maxWebSocketsPerSubscription must be"
            + " positive");
      }
      if (defaultTimeout.toSeconds() < 1 || maxTimeout.compareTo(defaultTimeout) < 0
          || connectTimeout.isNegative() || connectTimeout.isZero() || pollInterval.isZero()
          || pollInterval.isNegative() || leaseTtl.compareTo(Duration.ofMillis(300)) < 0) {
        throw new IllegalStateException("timeouts must be positive, defaultTimeout at least 1 s"
            + " and at most maxTimeout, pollInterval positive, leaseTtl at least 300 ms");
      }
      // a fresh store per engine: one builder built twice gives two independent engines
      return new SubscriptionEngine(this, store != null ? store : new InMemorySubscriptionStore());
    }
  }
}
