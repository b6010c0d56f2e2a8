package ca.halo.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.NotificationType;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.Test;

/**
 * The notification Bundle written field by field is HAPI's, byte for byte ({@link FhirJson}
 * over {@link SubscriptionNotification#toBundle()}), for every notification it writes; what it
 * does not write it says so (null), and HAPI encodes it.
 */
class NotificationJsonTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private static final List<NotificationType> TYPES = List.of(NotificationType.HANDSHAKE,
      NotificationType.HEARTBEAT, NotificationType.EVENT_NOTIFICATION, NotificationType.QUERY_STATUS,
      NotificationType.QUERY_EVENT);

  /** HAPI's bytes, and ours with the same timestamp and status entry fullUrl. */
  private static String[] both(SubscriptionNotification n, PayloadContent payload) {
    Bundle b = n.toBundle();
    String hapi = new String(FhirJson.encode(CTX.newJsonParser(), b), StandardCharsets.UTF_8);
    byte[] ours = NotificationJson.write(n, payload, b.getTimestamp(), b.getEntryFirstRep().getFullUrl());
    return new String[] {hapi, ours == null ? null : new String(ours, StandardCharsets.UTF_8)};
  }

  private static SubscriptionNotification.Builder base(NotificationType type, PayloadContent payload) {
    return SubscriptionNotification.builder("Subscription/abc-1.2", type)
        .topic("http://canada-health-infoway.org/fhir/halo/SubscriptionTopic/sofa-content-update")
        .status("active").eventsSinceSubscriptionStart(42).payload(payload);
  }

  @Test
  void everyTypeAndPayload_theUsualShapes_areHapisBytes() {
    for (NotificationType type : TYPES) {
      for (PayloadContent payload : PayloadContent.values()) {
        SubscriptionNotification.Builder nb = base(type, payload);
        if (type == NotificationType.EVENT_NOTIFICATION) {
          nb.addEvent(new NotificationEvent(41, Instant.parse("2026-12-02T15:04:05.123Z"), "Observation/o-1", null))
              .addEvent(new NotificationEvent(42, Instant.parse("2026-12-02T15:04:05Z"), null, null))
              .addEvent(new NotificationEvent(43, null, "Patient/p.1", null));
        }
        String[] r = both(nb.build(), payload);
        assertThat(r[1]).as(type + " " + payload).isEqualTo(r[0]);
      }
    }
    SubscriptionNotification bare = SubscriptionNotification.builder("Subscription/x",
        NotificationType.HEARTBEAT).build();
    String[] r = both(bare, PayloadContent.ID_ONLY);
    assertThat(r[1]).isEqualTo(r[0]);
    assertThat(r[0]).doesNotContain("\"topic\"").doesNotContain("\"status\"");
  }

  @Test
  void aResourceToCarry_orABlankText_isLeftToHapi() {
    Observation o = new Observation();
    o.setId("o-1");
    SubscriptionNotification full = base(NotificationType.EVENT_NOTIFICATION, PayloadContent.FULL_RESOURCE)
        .addEvent(new NotificationEvent(1, Instant.now(), "Observation/o-1", o)).build();
    assertThat(both(full, PayloadContent.FULL_RESOURCE)[1]).isNull();
    // the same resource under an id-only payload is not carried: written here
    String[] idOnly = both(base(NotificationType.EVENT_NOTIFICATION, PayloadContent.ID_ONLY)
        .addEvent(new NotificationEvent(1, Instant.now(), "Observation/o-1", o)).build(), PayloadContent.ID_ONLY);
    assertThat(idOnly[1]).isEqualTo(idOnly[0]);
    // references HAPI rewrites (a version, a local id): left to HAPI, whose bytes they then are
    for (String ref : List.of("Observation/o/_history/3", "http://x/fhir/Observation/1/_history/2", "#c1")) {
      assertThat(both(base(NotificationType.EVENT_NOTIFICATION, PayloadContent.ID_ONLY)
          .addEvent(new NotificationEvent(1, Instant.now(), ref, null)).build(), PayloadContent.ID_ONLY)[1])
          .as(ref).isNull();
    }
    assertThat(both(SubscriptionNotification.builder("Subscription/a/_history/1", NotificationType.HEARTBEAT)
        .build(), PayloadContent.ID_ONLY)[1]).isNull();
    for (String blank : List.of("", " ", "\t\n")) {
      assertThat(both(base(NotificationType.HEARTBEAT, PayloadContent.ID_ONLY).error(blank).build(),
          PayloadContent.ID_ONLY)[1]).isNull();
      assertThat(both(base(NotificationType.HEARTBEAT, PayloadContent.ID_ONLY).status(blank).build(),
          PayloadContent.ID_ONLY)[1]).isNull();
    }
  }

  @Provide
  Arbitrary<String> text() {
    return Arbitraries.oneOf(Arbitraries.strings().all().ofMaxLength(20),
        Arbitraries.strings().withChars("\"\\/\u0000\u001f\u007f\u2028é😀 <>&").ofMaxLength(12),
        Arbitraries.of("active", "error", "requested", "off", "http://example.org/t?a=1&b=\"2\""));
  }

  @Provide
  Arbitrary<NotificationType> type() {
    return Arbitraries.oneOf(Arbitraries.of(TYPES), text().map(NotificationType::of));
  }

  @Provide
  Arbitrary<NotificationEvent> event() {
    Arbitrary<Instant> when = Arbitraries.longs().between(0, 4_102_444_800_000L).map(Instant::ofEpochMilli)
        .injectNull(0.2);
    Arbitrary<String> focus = Combinators.combine(Arbitraries.of("Observation", "Patient", "QuestionnaireResponse"),
        Arbitraries.strings().withChars("abcXYZ019-.").ofMinLength(1).ofMaxLength(64))
        .as((t, id) -> t + "/" + id).injectNull(0.2);
    return Combinators.combine(Arbitraries.longs().between(1, Long.MAX_VALUE), when, focus)
        .as((n, t, f) -> new NotificationEvent(n, t, f, null));
  }

  @Property(tries = 500)
  void anyNotification_isHapisBytes_orLeftToHapi(@ForAll("text") String topic, @ForAll("text") String status,
      @ForAll("text") String error, @ForAll("type") NotificationType type, @ForAll PayloadContent payload,
      @ForAll @net.jqwik.api.constraints.Size(max = 5) List<@net.jqwik.api.From("event") NotificationEvent> events, @ForAll boolean withTopic, @ForAll boolean withError) {
    SubscriptionNotification.Builder nb = SubscriptionNotification.builder("Subscription/s-" + events.size(), type)
        .status(status).eventsSinceSubscriptionStart(events.size()).payload(payload);
    if (withTopic) {
      nb.topic(topic);
    }
    if (withError) {
      nb.error(error);
    }
    events.stream().limit(5).forEach(nb::addEvent);
    String[] r = both(nb.build(), payload);
    Statistics.collect(r[1] == null ? "left to HAPI" : "written");
    if (r[1] != null) {
      assertThat(r[1]).isEqualTo(r[0]);
    } else {
      assertThat(status.isBlank() || type.code().isBlank() || (withTopic && topic.isBlank())
          || (withError && error.isBlank()))
          .as("left to HAPI only for a blank text").isTrue();
    }
  }
}
