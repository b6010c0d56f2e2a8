package ca.halo.core.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import ca.uhn.fhir.context.FhirContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Type;
import org.hl7.fhir.r4.model.UnsignedIntType;

/**
 * {@link SubscriptionNotification#parse(Bundle)} on hostile notification Bundles, built two ways:
 * as FHIR objects (every status parameter and notification-event part with any value type,
 * empty primitives, odd numbers and references, odd Bundle types and entries), and as JSON text
 * mutated from a valid notification and read through {@link FhirJsonBodies} the way the consumers
 * read a body. Only {@link HaloParseException} may escape; whatever parses must survive its own
 * round trip.
 */
class SubscriptionNotificationProperties {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  // ------------------------------------------------------------------ generated as FHIR objects

  @Provide
  Arbitrary<Supplier<Type>> values() {
    Arbitrary<String> texts = Arbitraries.oneOf(
        Arbitraries.of("1", "0", "-1", "2", "9223372036854775807", "9223372036854775808", "1.5",
            " 1", "", "Subscription/1", "Patient/1", "Patient", "/", "a/b/c/_history/2",
            "http://sofa.example/fhir/Observation/9/_history/1", "event-notification",
            "handshake", "heartbeat", "\u0000", "x".repeat(10_000)),
        Arbitraries.strings().all().ofMaxLength(20));
    return Arbitraries.frequencyOf(
        Tuple.of(3, texts.map(s -> (Supplier<Type>) () -> new StringType(s))),
        Tuple.of(3, texts.map(s -> (Supplier<Type>) () -> new Reference(s))),
        Tuple.of(2, texts.map(s -> (Supplier<Type>) () -> new CodeType(s))),
        Tuple.of(1, texts.map(s -> (Supplier<Type>) () -> new CanonicalType(s))),
        Tuple.of(2, Arbitraries.integers().map(i -> (Supplier<Type>) () -> new IntegerType(i))),
        Tuple.of(1, Arbitraries.of(0, 1, Integer.MAX_VALUE)
            .map(i -> (Supplier<Type>) () -> new UnsignedIntType(i))),
        Tuple.of(1, Arbitraries.of("1", "1e400", "-0.5")
            .map(d -> (Supplier<Type>) () -> new DecimalType(d))),
        Tuple.of(2, Arbitraries.of(0L, 1_700_000_000_000L, -62_135_596_800_000L)
            .map(ms -> (Supplier<Type>) () -> new InstantType(new Date(ms)))),
        Tuple.of(1, Arbitraries.just((Supplier<Type>) () -> new DateTimeType(new Date()))),
        Tuple.of(1, Arbitraries.just((Supplier<Type>) BooleanType::new)),
        // primitives without a value (only an extension), and references without a reference
        Tuple.of(4, Arbitraries.of(
            (Supplier<Type>) StringType::new, CodeType::new, InstantType::new, IntegerType::new,
            Reference::new, () -> new Reference().setIdentifier(new Identifier().setValue("x")),
            () -> {
              InstantType t = new InstantType();
              t.addExtension("http://example.org/why", new StringType("masked"));
              return t;
            },
            () -> null)));
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.frequencyOf(
        Tuple.of(12, Arbitraries.of("subscription", "topic", "status", "type",
            "events-since-subscription-start", "notification-event", "error")),
        Tuple.of(1, Arbitraries.strings().ofMaxLength(10)),
        Tuple.of(1, Arbitraries.just((String) null)));
  }

  @Provide
  Arbitrary<String> partNames() {
    return Arbitraries.frequencyOf(
        Tuple.of(12, Arbitraries.of("event-number", "timestamp", "focus", "additional-context")),
        Tuple.of(1, Arbitraries.strings().ofMaxLength(10)),
        Tuple.of(1, Arbitraries.just((String) null)));
  }

  @Provide
  Arbitrary<Bundle> bundles() {
    Arbitrary<Supplier<Type>> v = values();
    Arbitrary<List<Object[]>> parts = Combinators.combine(partNames(), v)
        .as((n, t) -> new Object[] {n, t}).list().ofMaxSize(5);
    Arbitrary<Object[]> param = Combinators.combine(names(), v, parts)
        .as((n, t, ps) -> new Object[] {n, t, ps});
    Arbitrary<List<Object[]>> params = param.list().ofMaxSize(10);
    Arbitrary<Bundle.BundleType> types = Arbitraries.frequencyOf(
        Tuple.of(10, Arbitraries.just(Bundle.BundleType.HISTORY)),
        Tuple.of(1, Arbitraries.of(Bundle.BundleType.class)),
        Tuple.of(1, Arbitraries.just((Bundle.BundleType) null)));
    Arbitrary<Integer> firstEntry = Arbitraries.frequencyOf(
        Tuple.of(10, Arbitraries.just(0)), Tuple.of(1, Arbitraries.of(1, 2, 3)));
    Arbitrary<List<String>> focusIds = Arbitraries.oneOf(
            Arbitraries.of("1", "9", "", "x/y", "a".repeat(100)),
            Arbitraries.strings().ofMaxLength(5))
        .list().ofMaxSize(4);
    return Combinators.combine(params, types, firstEntry, focusIds)
        .as(SubscriptionNotificationProperties::bundle);
  }

  @SuppressWarnings("unchecked")
  private static Bundle bundle(List<Object[]> params, Bundle.BundleType type, int first,
      List<String> focusIds) {
    Parameters st = new Parameters();
    for (Object[] p : params) {
      ParametersParameterComponent c = st.addParameter().setName((String) p[0])
          .setValue(((Supplier<Type>) p[1]).get());
      for (Object[] part : (List<Object[]>) p[2]) {
        c.addPart().setName((String) part[0]).setValue(((Supplier<Type>) part[1]).get());
      }
    }
    Bundle b = new Bundle();
    if (type != null) {
      b.setType(type);
    }
    Resource lead = first == 0 ? st : first == 1 ? new Patient() : first == 2 ? new Bundle() : null;
    b.addEntry().setResource(lead);
    for (int i = 0; i < focusIds.size(); i++) {
      Resource r = i % 2 == 0 ? new Patient() : new Observation();
      if (!focusIds.get(i).isEmpty()) {
        r.setId(focusIds.get(i));
      }
      b.addEntry().setResource(i == 3 ? null : r);
    }
    return b;
  }

  @Property(tries = 800)
  void parse_generatedBundle_onlyHaloParseException(@ForAll("bundles") Bundle b) {
    Outcomes.Outcome<SubscriptionNotification> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> SubscriptionNotification.parse(b), HaloParseException.class);
    if (out.succeeded()) {
      roundTrips(out.value());
    }
  }

  private static void roundTrips(SubscriptionNotification n) {
    assertThat(n.subscription()).isNotBlank();
    assertThat(n.type().code()).isNotBlank();
    assertThat(n.eventsSinceSubscriptionStart()).isNotNegative();
    n.events().forEach(e -> assertThat(e.number()).isPositive());
    assertThat(SubscriptionNotification.parse(n.toBundle())).isEqualTo(n);
    assertThat(n.toString()).isNotBlank();
  }

  // ------------------------------------------------------------------ JSON text, read by HAPI

  static String validNotificationJson() {
    Patient p = new Patient();
    p.setId("7");
    p.addName().setFamily("Tremblay");
    SubscriptionNotification n = SubscriptionNotification
        .builder("Subscription/abc", NotificationType.EVENT_NOTIFICATION)
        .topic(Backport.HALO_TOPIC).status("active").eventsSinceSubscriptionStart(3)
        .payload(PayloadContent.FULL_RESOURCE)
        .addEvent(new NotificationEvent(2, Instant.parse("2026-01-01T00:00:00Z"), "Patient/7", p))
        .addEvent(new NotificationEvent(3, Instant.parse("2026-01-01T00:00:01Z"), "Patient/7", p))
        .build();
    return CTX.newJsonParser().encodeResourceToString(n.toBundle());
  }

  @Provide
  Arbitrary<Mutant> bodies() {
    return JsonMutations.mutantsOf(List.of(validNotificationJson()), List.of("resourceType",
        "type", "entry", "resource", "parameter", "name", "valueReference", "valueString",
        "valueCode", "valueCanonical", "valueInstant", "part", "reference", "fullUrl", "id"));
  }

  @Property(tries = 400)
  void parse_mutatedJsonBody_onlyTypedErrors(@ForAll("bodies") Mutant m) {
    Outcomes.Outcome<SubscriptionNotification> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> {
          IBaseResource r = FhirJsonBodies.parse(CTX, m.text(), "notification");
          if (!(r instanceof Bundle)) {
            throw new HaloParseException("not a Bundle");
          }
          return SubscriptionNotification.parse((Bundle) r);
        }, HaloParseException.class);
    if (out.succeeded()) {
      roundTrips(out.value());
    }
  }

  // ------------------------------------------------------------------ regressions

  private static Bundle notification(ParametersParameterComponent... extra) {
    Parameters st = new Parameters();
    st.addParameter().setName("subscription").setValue(new Reference("Subscription/1"));
    st.addParameter().setName("type").setValue(new CodeType("event-notification"));
    for (ParametersParameterComponent c : extra) {
      st.addParameter(c);
    }
    Bundle b = new Bundle().setType(Bundle.BundleType.HISTORY);
    b.addEntry().setResource(st);
    return b;
  }

  private static ParametersParameterComponent event(Type number, Type timestamp) {
    ParametersParameterComponent e = new ParametersParameterComponent().setName("notification-event");
    e.addPart().setName("event-number").setValue(number);
    if (timestamp != null) {
      e.addPart().setName("timestamp").setValue(timestamp);
    }
    return e;
  }

  @Example
  void parseBody_hugeExponent_refusedBeforeHapi() {
    // regression: HAPI 8.8.1 expands 1E+50000000 with BigDecimal.toPlainString and parses the
    // fifty million digits back (hours of CPU); 1E+2147483647 threw NegativeArraySizeException
    for (String n : List.of("1E+50000000", "1E+2147483647", "-1e-99999")) {
      String body = validNotificationJson().replaceFirst("\"type\":\"history\"",
          "\"type\":\"history\",\"total\":" + n);
      Outcomes.Outcome<IBaseResource> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
          () -> FhirJsonBodies.parse(CTX, body, "notification"), HaloParseException.class);
      assertThat(out.succeeded()).as(n).isFalse();
      assertThat(out.error()).hasMessageContaining("number");
    }
  }

  @Example
  void parseBody_millionsOfEmptyEntries_refusedBeforeHapi() {
    // HAPI keeps ~75 bytes per JSON object: 16 MiB of {} entries would become ~1 GB of Bundle
    // entries and take half a minute
    StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{}");
    for (int i = 0; i < FhirJsonBodies.MAX_CONTAINERS; i++) {
      b.append(",{}");
    }
    String body = b.append("]}").toString();
    Outcomes.Outcome<IBaseResource> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> FhirJsonBodies.parse(CTX, body, "notification"), HaloParseException.class);
    assertThat(out.succeeded()).isFalse();
    assertThat(out.error()).hasMessageContaining("objects and arrays");
  }

  @Example
  void parse_eventNumberZero_haloParseException() {
    // regression: NotificationEvent's IllegalArgumentException escaped
    assertThatThrownBy(() -> SubscriptionNotification.parse(
        notification(event(new StringType("0"), null))))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("event-number");
  }

  @Example
  void parse_timestampWithoutValue_readAsAbsent() {
    // regression: NullPointerException on an instant that carries only an extension
    SubscriptionNotification n = SubscriptionNotification.parse(
        notification(event(new StringType("1"), new InstantType())));
    assertThat(n.events()).singleElement()
        .satisfies(e -> assertThat(e.timestamp()).isEmpty());
  }

  @Example
  void parse_typeWithoutValue_haloParseException() {
    // regression: NullPointerException from NotificationType.of(null)
    Bundle b = notification();
    ((Parameters) b.getEntryFirstRep().getResource()).getParameter().get(1).setValue(new CodeType());
    assertThatThrownBy(() -> SubscriptionNotification.parse(b))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("type");
  }

  @Example
  void parse_negativeEventsSince_haloParseException() {
    Bundle b = notification(new ParametersParameterComponent()
        .setName("events-since-subscription-start").setValue(new StringType("-1")));
    assertThatThrownBy(() -> SubscriptionNotification.parse(b))
        .isInstanceOf(HaloParseException.class);
  }

  @Example
  void parse_eventsSinceWithoutValue_haloParseException() {
    Bundle b = notification(new ParametersParameterComponent()
        .setName("events-since-subscription-start"));
    assertThatThrownBy(() -> SubscriptionNotification.parse(b))
        .isInstanceOf(HaloParseException.class);
  }

  @Example
  void parse_malformedFocus_haloParseException() {
    // a focus that is not Type/id reached NotificationConsumer, which split it on '/' and failed
    for (String focus : List.of("Patient", "/", "Patient/", "/7", "a b/c")) {
      ParametersParameterComponent e = event(new StringType("1"), null);
      e.addPart().setName("focus").setValue(new Reference(focus));
      assertThatThrownBy(() -> SubscriptionNotification.parse(notification(e)))
          .as(focus).isInstanceOf(HaloParseException.class).hasMessageContaining("focus");
    }
  }

  @Example
  void parse_absoluteAndVersionedFocus_strippedToTypeAndId() {
    List<String> got = new ArrayList<>();
    for (String focus : List.of("Patient/7", "http://sofa.example/fhir/Patient/7",
        "http://sofa.example/fhir/Patient/7/_history/3", "Patient/7/_history/3")) {
      ParametersParameterComponent e = event(new StringType("1"), null);
      e.addPart().setName("focus").setValue(new Reference(focus));
      got.add(SubscriptionNotification.parse(notification(e)).events().get(0).focus().orElseThrow());
    }
    assertThat(got).containsOnly("Patient/7");
  }
}
