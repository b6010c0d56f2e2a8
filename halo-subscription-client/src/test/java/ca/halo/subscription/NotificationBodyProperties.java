package ca.halo.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.HaloException;
import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.subscription.Backport;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import okio.Buffer;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.UrlType;

/**
 * How halo-subscription-client takes a notification body from outside: {@link RestHookHandler}
 * on mutated posts (and hostile header maps), {@link WebSocketConsumer}'s frame reading on
 * mutated frames, and {@link SubscriptionClient}'s {@code $status}, {@code $events} and
 * {@code $get-ws-binding-token} on mutated answers from a loopback SoFA. The handler only ever
 * answers a status (never throws), frames are read or ignored (never throw), and the client only
 * throws {@link HaloException}; all within a bounded time.
 */
class NotificationBodyProperties {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private static final String SECRET = "hook-secret";
  private static final Duration BOUND = Duration.ofSeconds(5);
  private static final List<String> FIELDS = List.of("resourceType", "type", "entry", "resource",
      "parameter", "name", "valueReference", "valueString", "valueCode", "valueCanonical",
      "valueInstant", "valueUrl", "valueDateTime", "part", "reference", "fullUrl", "id",
      "request", "url", "method");

  private final MockWebServer sofa = new MockWebServer();
  private final HaloHttp http = HaloHttp.defaults();
  private final SubscriptionClient client;
  private volatile Mutant answer;
  private volatile int status = 200;

  NotificationBodyProperties() throws Exception {
    sofa.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest r) {
        Mutant a = answer;
        if (a == null) {
          return new MockResponse.Builder().code(404).build();
        }
        return new MockResponse.Builder().code(status)
            .setHeader("Content-Type", "application/fhir+json")
            .body(new Buffer().write(a.bytes())).build();
      }
    });
    sofa.start();
    client = SubscriptionClient.builder().http(http)
        .fhirBase(URI.create(sofa.url("/fhir").toString()))
        .tokens(AccessTokenProvider.fixed(AccessToken.withoutExpiry("t"))).build();
  }

  @AfterProperty
  void close() {
    client.close();
    http.close();
    sofa.close();
  }

  static String notificationJson() {
    Patient p = new Patient();
    p.setId("7");
    p.addName().setFamily("Tremblay");
    SubscriptionNotification n = SubscriptionNotification
        .builder("Subscription/abc", NotificationType.EVENT_NOTIFICATION)
        .topic(Backport.HALO_TOPIC).status("active").eventsSinceSubscriptionStart(2)
        .payload(PayloadContent.FULL_RESOURCE)
        .addEvent(new NotificationEvent(1, Instant.parse("2026-01-01T00:00:00Z"), "Patient/7", p))
        .addEvent(new NotificationEvent(2, Instant.parse("2026-01-01T00:00:01Z"), "Patient/7", null))
        .build();
    return CTX.newJsonParser().encodeResourceToString(n.toBundle());
  }

  static String handshakeJson() {
    return CTX.newJsonParser().encodeResourceToString(SubscriptionNotification
        .builder("Subscription/abc", NotificationType.HANDSHAKE).eventsSinceSubscriptionStart(0)
        .build().toBundle());
  }

  static String bindingJson() {
    Parameters p = new Parameters();
    p.addParameter().setName("token").setValue(new StringType("tok-1"));
    p.addParameter().setName("expiration").setValue(
        new org.hl7.fhir.r4.model.DateTimeType("2026-01-01T00:00:00Z"));
    p.addParameter().setName("websocket-url").setValue(new UrlType("ws://127.0.0.1:1/ws"));
    return CTX.newJsonParser().encodeResourceToString(p);
  }

  @Provide
  Arbitrary<Mutant> bodies() {
    return JsonMutations.mutantsOf(List.of(notificationJson(), handshakeJson()), FIELDS);
  }

  @Provide
  Arbitrary<Map<String, List<String>>> headers() {
    Arbitrary<String> names = Arbitraries.of("Authorization", "authorization", "AUTHORIZATION",
        "X-Other", "", null);
    Arbitrary<List<String>> values = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.just(List.of("Bearer " + SECRET))),
        Tuple.of(1, Arbitraries.of(List.of(), Collections.singletonList(null),
            List.of("Bearer " + SECRET + " "), List.of("bearer " + SECRET),
            List.of("Bearer " + "x".repeat(100_000)), List.of("", "Bearer " + SECRET))),
        Tuple.of(1, Arbitraries.just((List<String>) null)));
    return Combinators.combine(names, values).as((n, v) -> {
      Map<String, List<String>> m = new HashMap<>();
      m.put(n, v);
      return m;
    }).list().ofMinSize(0).ofMaxSize(3).map(list -> {
      Map<String, List<String>> all = new HashMap<>();
      list.forEach(all::putAll);
      return all;
    });
  }

  @Property(tries = 400)
  void restHook_mutatedPost_answersAStatusNeverThrows(@ForAll("bodies") Mutant m,
      @ForAll("headers") Map<String, List<String>> headers, @ForAll boolean fetchFocus) {
    answer = Mutant.ofText(handshakeJson(), "recovery answer");
    status = 200;
    List<NotificationEvent> delivered = Collections.synchronizedList(new ArrayList<>());
    NotificationConsumer consumer = NotificationConsumer.builder(client,
        (id, e) -> delivered.add(e)).fetchFocus(fetchFocus).build();
    RestHookHandler hook = RestHookHandler.builder(consumer)
        .requireHeader("Authorization", "Bearer " + SECRET).build();
    int code = Outcomes.onlyTyped(BOUND, () -> hook.handle(headers, m.bytes())).value();
    assertThat(code).isIn(200, 400, 401, 503);
    if (code == 400 || code == 401) {
      assertThat(delivered).isEmpty();
    }
  }

  @Property(tries = 400)
  void websocketFrame_mutated_readOrIgnoredNeverThrows(@ForAll("bodies") Mutant m) {
    Optional<SubscriptionNotification> n = Outcomes.onlyTyped(BOUND,
        () -> WebSocketConsumer.parseFrame(CTX, m.text())).value();
    n.ifPresent(x -> assertThat(x.subscription()).isNotBlank());
  }

  @Provide
  Arbitrary<Mutant> answers() {
    return JsonMutations.mutantsOf(List.of(notificationJson(), handshakeJson(), bindingJson(),
        "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
            + "\"code\":\"processing\",\"diagnostics\":\"no\"}]}"), FIELDS);
  }

  @Provide
  Arbitrary<Integer> statuses() {
    return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(200)),
        Tuple.of(2, Arbitraries.of(201, 204, 400, 401, 404, 410, 500, 503)));
  }

  @Property(tries = 200)
  void subscriptionClient_mutatedAnswer_onlyHaloException(@ForAll("answers") Mutant m,
      @ForAll("statuses") int code, @ForAll("operations") int op) {
    answer = m;
    status = code;
    Outcomes.onlyTyped(BOUND, () -> {
      switch (op) {
        case 0: return client.status("abc");
        case 1: return client.events(EventsRequest.builder("abc").since(1).until(5)
            .content(PayloadContent.ID_ONLY).build());
        default: return client.bindingToken("abc");
      }
    }, HaloException.class);
  }

  @Provide
  Arbitrary<Integer> operations() {
    return Arbitraries.of(0, 1, 2);
  }

  // ------------------------------------------------------------------ regressions

  @Example
  void subscriptionClient_emptyMemberName_haloParseException() {
    // regression: HAPI's JsonParser.parseChildren threw StringIndexOutOfBoundsException on a
    // member named "" and it escaped SubscriptionClient
    answer = Mutant.ofText(handshakeJson().replaceFirst("\\{", "{\"\":1,"), "empty member name");
    status = 200;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.status("abc"))
        .isInstanceOf(ca.halo.core.HaloParseException.class);
  }

  @Example
  void restHook_hugeExponent_400Quickly() {
    // regression: HAPI spent hours expanding 1E+50000000 (or threw NegativeArraySizeException on
    // 1E+2147483647, which escaped handle() and dropped the connection without an answer)
    NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> { }).build();
    RestHookHandler hook = RestHookHandler.builder(consumer).build();
    for (String n : List.of("1E+50000000", "1E+2147483647")) {
      String body = notificationJson().replaceFirst("\"type\":\"history\"",
          "\"type\":\"history\",\"total\":" + n);
      int code = Outcomes.onlyTyped(Duration.ofSeconds(2), () -> hook.handle(Map.of(),
          body.getBytes(java.nio.charset.StandardCharsets.UTF_8))).value();
      assertThat(code).isEqualTo(400);
    }
  }

  @Example
  void restHook_eventNumberZero_400() {
    // regression: NotificationEvent's IllegalArgumentException escaped handle()
    NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> { }).build();
    RestHookHandler hook = RestHookHandler.builder(consumer).build();
    String body = notificationJson().replace("\"valueString\":\"1\"", "\"valueString\":\"0\"");
    assertThat(body).contains("\"valueString\":\"0\"");
    assertThat(hook.handle(Map.of(), body.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(400);
  }

  @Example
  void restHook_focusOfUnknownType_deliveredWithoutResource() {
    // regression: HAPI's read().resource("Unknowntype") threw DataFormatException out of the
    // listener call: the hook answered 500 and the SoFA retried the same post forever
    List<NotificationEvent> delivered = Collections.synchronizedList(new ArrayList<>());
    NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> delivered.add(e))
        .fetchFocus(true).build();
    RestHookHandler hook = RestHookHandler.builder(consumer).build();
    String body = notificationJson().replace("Patient/7", "Unknowntype/7");
    assertThat(body).contains("Unknowntype/7");
    assertThat(hook.handle(Map.of(), body.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(200);
    assertThat(delivered).hasSize(2).allSatisfy(e -> assertThat(e.resource()).isEmpty());
  }

  @Example
  void restHook_forgedHugeEventsSince_laterEventsStillDelivered() {
    // regression: recover() moved the position to the announced count whatever the server said,
    // so one post announcing events-since 9223372036854775807 made every later event a
    // "duplicate", silently dropped
    List<NotificationEvent> delivered = Collections.synchronizedList(new ArrayList<>());
    NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> delivered.add(e))
        .build();
    consumer.resumeAfter("abc", 2);
    RestHookHandler hook = RestHookHandler.builder(consumer).build();
    // the SoFA's $events answer: nothing retained past 2, and it counts 2 events
    answer = Mutant.ofText(CTX.newJsonParser().encodeResourceToString(SubscriptionNotification
        .builder("Subscription/abc", NotificationType.QUERY_EVENT).eventsSinceSubscriptionStart(2)
        .build().toBundle()), "$events answer");
    status = 200;
    String forged = CTX.newJsonParser().encodeResourceToString(SubscriptionNotification
        .builder("Subscription/abc", NotificationType.HEARTBEAT)
        .eventsSinceSubscriptionStart(Long.MAX_VALUE).build().toBundle());
    assertThat(hook.handle(Map.of(), forged.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(200);
    assertThat(consumer.lastDelivered("abc")).isEqualTo(2);
    String next = CTX.newJsonParser().encodeResourceToString(SubscriptionNotification
        .builder("Subscription/abc", NotificationType.EVENT_NOTIFICATION)
        .eventsSinceSubscriptionStart(3)
        .addEvent(new NotificationEvent(3, Instant.parse("2026-01-01T00:00:03Z"), "Patient/7", null))
        .build().toBundle());
    assertThat(hook.handle(Map.of(), next.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(200);
    assertThat(delivered).extracting(NotificationEvent::number).containsExactly(3L);
  }

  @Example
  void restHook_nullHeaderList_401() {
    NotificationConsumer consumer = NotificationConsumer.builder(client, (id, e) -> { }).build();
    RestHookHandler hook = RestHookHandler.builder(consumer)
        .requireHeader("Authorization", "Bearer " + SECRET).build();
    Map<String, List<String>> h = new HashMap<>();
    h.put("Authorization", null);
    assertThat(hook.handle(h, notificationJson().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(401);
  }

  @Example
  void bindingToken_expirationWithoutValue_readAsAbsent() {
    // regression: DateTimeType.getValue() was null and toInstant() threw NullPointerException
    Parameters p = (Parameters) CTX.newJsonParser().parseResource(bindingJson());
    p.getParameter("expiration").setValue(new org.hl7.fhir.r4.model.DateTimeType());
    p.getParameter("expiration").getValue().addExtension("http://example.org/x",
        new StringType("masked"));
    answer = Mutant.ofText(CTX.newJsonParser().encodeResourceToString(p), "binding");
    status = 200;
    assertThat(client.bindingToken("abc").expiration()).isEmpty();
  }

  @Example
  void bindingToken_badWebsocketUrl_haloParseException() {
    // regression: URI.create threw IllegalArgumentException; a port OkHttp refuses failed later on
    // the reconnect thread, which then never reconnected
    for (String url : List.of("ws://exa mple/ws", "ws://127.0.0.1:99999/ws", "http://x/ws",
        "/relative")) {
      answer = Mutant.ofText(bindingJson().replace("ws://127.0.0.1:1/ws", url), url);
      status = 200;
      Outcomes.Outcome<WebSocketBinding> out = Outcomes.onlyTyped(BOUND,
          () -> client.bindingToken("abc"), HaloException.class);
      assertThat(out.succeeded()).as(url).isFalse();
      assertThat(out.error()).isInstanceOf(ca.halo.core.HaloParseException.class);
    }
  }

  @Example
  void bindingToken_namelessParameter_stillRead() {
    // regression: Parameters.getParameter(String) threw NullPointerException on a nameless one
    Parameters p = (Parameters) CTX.newJsonParser().parseResource(bindingJson());
    p.getParameter().add(0, new Parameters.ParametersParameterComponent()
        .setValue(new StringType("x")));
    answer = Mutant.ofText(CTX.newJsonParser().encodeResourceToString(p), "binding");
    status = 200;
    assertThat(client.bindingToken("abc").token()).isEqualTo("tok-1");
  }

  @Example
  void events_answerThatIsNotFhir_haloParseException() {
    answer = Mutant.ofText("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"total\":1E+50000000}",
        "huge");
    status = 200;
    Outcomes.Outcome<SubscriptionNotification> out = Outcomes.onlyTyped(BOUND,
        () -> client.events(EventsRequest.builder("abc").since(1).until(2).build()), HaloException.class);
    assertThat(out.error()).isInstanceOf(ca.halo.core.HaloParseException.class);
  }
}
