package ca.halo.subscription;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.fhir.FhirCalls;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Supplier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * The PoC's Subscription Requester (CA:FSub): creates, reads, updates and deletes topic-based
 * Subscriptions on the SoFA, and asks {@code $status}, {@code $events} and
 * {@code $get-ws-binding-token}.
 *
 * <pre>{@code
 * SubscriptionClient subs = SubscriptionClient.builder().fhirBase(sofaBase).tokens(tokens).build();
 * Subscription s = subs.create(SubscriptionRequest.restHook(hookUrl).launch(launchId).build());
 * subs.awaitActive(s.getIdPart(), Duration.ofSeconds(10));   // after the handshake
 * }</pre>
 *
 * <p>Thread-safe; build once and share. Errors: {@link HaloResponseException} (with the server's
 * OperationOutcome) for refusals, {@link HaloTransportException} when the SoFA cannot be reached.
 */
public final class SubscriptionClient implements AutoCloseable {
  private final URI fhirBase;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final FhirContext ctx;
  private final IGenericClient fhir;
  private final Clock clock;

  private SubscriptionClient(Builder b) {
    this.fhirBase = b.fhirBase;
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    this.ctx = b.fhirContext != null ? b.fhirContext : FhirContext.forR4Cached();
    this.fhir = FhirClients.genericClient(ctx, fhirBase, http, b.tokens);
    this.clock = b.clock;
  }

  public static Builder builder() {
    return new Builder();
  }

  public FhirContext fhirContext() {
    return ctx;
  }

  /** The generic client (same credentials), e.g. to fetch id-only focus resources. */
  public IGenericClient fhir() {
    return fhir;
  }

  HaloHttp http() {
    return http;
  }

  /** Creates the subscription; returns it with its id and status ({@code requested} or {@code active}). */
  public Subscription create(SubscriptionRequest request) {
    return call("create Subscription", () -> {
      var outcome = fhir.create().resource(request.toSubscription()).execute();
      return read(outcome.getId().getIdPart());
    });
  }

  public Subscription read(String id) {
    return call("read Subscription", () -> fhir.read().resource(Subscription.class).withId(id).execute());
  }

  /** Replaces the subscription's settings (status goes back to requested and re-handshakes). */
  public Subscription update(String id, SubscriptionRequest request) {
    return call("update Subscription", () -> {
      Subscription s = request.toSubscription();
      s.setId(id);
      fhir.update().resource(s).execute();
      return read(id);
    });
  }

  public void delete(String id) {
    call("delete Subscription", () -> fhir.delete().resourceById("Subscription", id).execute());
  }

  /**
   * Waits until the subscription is {@code active} (the handshake succeeded).
   *
   * @throws HaloResponseException if it went to {@code error} or did not become active in time
   */
  public Subscription awaitActive(String id, Duration timeout) {
    Instant until = clock.instant().plus(timeout);
    long pause = 20;
    while (true) {
      Subscription s = read(id);
      if (s.getStatus() == Subscription.SubscriptionStatus.ACTIVE) {
        return s;
      }
      if (s.getStatus() == Subscription.SubscriptionStatus.ERROR || !clock.instant().isBefore(until)) {
        throw HaloResponseException.of("Subscription/" + id + " is " + s.getStatus().toCode()
            + " (" + s.getError() + "): check that the endpoint is reachable from the SoFA");
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HaloTransportException("interrupted while waiting for Subscription/" + id, e);
      }
      pause = Math.min(pause * 2, 500);
    }
  }

  /** {@code $status}. */
  public SubscriptionNotification status(String id) {
    return call("$status", () -> SubscriptionNotification.parse(fhir.operation()
        .onInstance("Subscription/" + id).named("$status").withNoParameters(Parameters.class)
        .useHttpGet().returnResourceType(Bundle.class).execute()));
  }

  /** {@code $events}: the stored events {@code since..until} (inclusive) of one subscription. */
  public SubscriptionNotification events(EventsRequest request) {
    Objects.requireNonNull(request, "request");
    Parameters p = new Parameters();
    request.since().ifPresent(v ->
        p.addParameter().setName("eventsSinceNumber").setValue(new StringType(Long.toString(v))));
    request.until().ifPresent(v ->
        p.addParameter().setName("eventsUntilNumber").setValue(new StringType(Long.toString(v))));
    request.content().ifPresent(v ->
        p.addParameter().setName("content").setValue(new CodeType(v.code())));
    return call("$events", () -> SubscriptionNotification.parse(fhir.operation()
        .onInstance("Subscription/" + request.subscriptionId()).named("$events")
        .withParameters(p).returnResourceType(Bundle.class).execute()));
  }

  /** {@code $get-ws-binding-token} (POST, as HALO 1.1 requires). */
  public WebSocketBinding bindingToken(String id) {
    return call("$get-ws-binding-token", () -> {
      Parameters out = fhir.operation().onInstance("Subscription/" + id).named("$get-ws-binding-token")
          .withNoParameters(Parameters.class).execute();
      // not Parameters.getParameter(String): it throws NullPointerException on a nameless part
      Parameters.ParametersParameterComponent token = parameter(out, "token");
      Parameters.ParametersParameterComponent url = parameter(out, "websocket-url");
      if (token == null || url == null || token.getValue() == null || url.getValue() == null) {
        throw new HaloParseException("$get-ws-binding-token answer lacks token or websocket-url");
      }
      Parameters.ParametersParameterComponent exp = parameter(out, "expiration");
      // an expiration without a value (only extensions) counts as absent
      Instant expiration = exp != null
          && exp.getValue() instanceof org.hl7.fhir.r4.model.BaseDateTimeType
          && ((org.hl7.fhir.r4.model.BaseDateTimeType) exp.getValue()).getValue() != null
          ? ((org.hl7.fhir.r4.model.BaseDateTimeType) exp.getValue()).getValue().toInstant() : null;
      String tokenText = token.getValue().primitiveValue();
      String urlText = url.getValue().primitiveValue();
      if (tokenText == null || tokenText.isBlank() || urlText == null) {
        throw new HaloParseException("$get-ws-binding-token answer: token and websocket-url must"
            + " be strings");
      }
      URI wsUrl;
      try {
        wsUrl = new URI(urlText);
      } catch (java.net.URISyntaxException e) {
        throw new HaloParseException("$get-ws-binding-token answer: websocket-url is not a URL", e);
      }
      String scheme = wsUrl.getScheme() == null ? "" : wsUrl.getScheme().toLowerCase(java.util.Locale.ROOT);
      if (!scheme.equals("ws") && !scheme.equals("wss") || wsUrl.getHost() == null
          || okhttp3.HttpUrl.parse(urlText.replaceFirst("^(?i)ws", "http")) == null) {
        throw new HaloParseException("$get-ws-binding-token answer: websocket-url must be an"
            + " absolute ws:// or wss:// URL");
      }
      return new WebSocketBinding(tokenText, expiration, wsUrl);
    });
  }

  private static Parameters.ParametersParameterComponent parameter(Parameters p, String name) {
    for (Parameters.ParametersParameterComponent c : p.getParameter()) {
      if (name.equals(c.getName())) {
        return c;
      }
    }
    return null;
  }

  private <T> T call(String what, Supplier<T> s) {
    return FhirCalls.call(what, fhirBase, s);
  }

  @Override
  public void close() {
    if (ownsHttp) {
      http.close();
    }
  }

  @Override
  public String toString() {
    return "SubscriptionClient{" + fhirBase + "}";
  }

  /** Builds a {@link SubscriptionClient}. */
  public static final class Builder {
    private URI fhirBase;
    private AccessTokenProvider tokens;
    private HaloHttp http;
    private FhirContext fhirContext;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    public Builder fhirBase(URI v) { this.fhirBase = Objects.requireNonNull(v); return this; }
    public Builder tokens(AccessTokenProvider v) { this.tokens = Objects.requireNonNull(v); return this; }
    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    public Builder fhirContext(FhirContext v) { this.fhirContext = Objects.requireNonNull(v); return this; }
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }

    public SubscriptionClient build() {
      if (fhirBase == null || tokens == null) {
        throw new IllegalStateException("fhirBase and tokens are required");
      }
      return new SubscriptionClient(this);
    }
  }
}
