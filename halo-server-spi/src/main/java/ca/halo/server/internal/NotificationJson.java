package ca.halo.server.internal;

import ca.halo.core.subscription.Backport;
import ca.halo.core.subscription.NotificationEvent;
import ca.halo.core.subscription.PayloadContent;
import ca.halo.core.subscription.SubscriptionNotification;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Date;
import org.hl7.fhir.r4.model.InstantType;

/**
 * A subscription notification Bundle written field by field, in the order and form HAPI writes
 * {@link SubscriptionNotification#toBundle()} (NotificationJsonTest holds it to HAPI's bytes), so
 * a delivery does not build the HAPI model and walk it: that was 40 % of a delivery's CPU (issue
 * 18's profile of 100 subscribers at 1,000 events/s).
 *
 * <p>Only the shapes every delivery has: id-only and empty payloads, and full-resource ones with
 * no resource attached, whose references are plain {@code Type/id}. Anything else (a resource to
 * carry, a blank text HAPI would leave out, a local or versioned reference HAPI would rewrite)
 * gets {@code null}, and the caller encodes the Bundle with HAPI as before. {@code payload} must
 * be the notification's own.
 */
public final class NotificationJson {

  private NotificationJson() {}

  /**
   * {@code n} as compact UTF-8 JSON with this {@code timestamp} and first entry {@code fullUrl},
   * or {@code null} for a shape this does not write.
   */
  public static byte[] write(SubscriptionNotification n, PayloadContent payload, Date timestamp,
      String statusFullUrl) {
    if (blank(n.subscription()) || !plain(n.subscription()) || blank(n.type().code())
        || n.topic().map(NotificationJson::blank).orElse(false)
        || n.status().map(NotificationJson::blank).orElse(false)
        || n.error().map(NotificationJson::blank).orElse(false) || blank(statusFullUrl)) {
      return null;
    }
    boolean focusEntries = payload != PayloadContent.EMPTY;
    for (NotificationEvent e : n.events()) {
      if (e.resource().isPresent() && payload == PayloadContent.FULL_RESOURCE) {
        return null;
      }
      if (focusEntries && e.focus().map(f -> blank(f) || !plain(f)).orElse(false)) {
        return null;
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(600 + 200 * n.events().size());
    try (JsonGenerator g = FhirJson.generator(out)) {
      g.writeStartObject();
      g.writeStringField("resourceType", "Bundle");
      profile(g, Backport.NOTIFICATION_PROFILE);
      g.writeStringField("type", "history");
      g.writeStringField("timestamp", new InstantType(timestamp).getValueAsString());
      g.writeArrayFieldStart("entry");

      g.writeStartObject();
      g.writeStringField("fullUrl", statusFullUrl);
      g.writeObjectFieldStart("resource");
      g.writeStringField("resourceType", "Parameters");
      profile(g, Backport.STATUS_PROFILE);
      g.writeArrayFieldStart("parameter");
      reference(g, "subscription", n.subscription());
      if (n.topic().isPresent()) {
        named(g, "topic", "valueCanonical", n.topic().get());
      }
      if (n.status().isPresent()) {
        named(g, "status", "valueCode", n.status().get());
      }
      named(g, "type", "valueCode", n.type().code());
      named(g, "events-since-subscription-start", "valueString",
          Long.toString(n.eventsSinceSubscriptionStart()));
      for (NotificationEvent e : n.events()) {
        g.writeStartObject();
        g.writeStringField("name", "notification-event");
        g.writeArrayFieldStart("part");
        named(g, "event-number", "valueString", Long.toString(e.number()));
        if (e.timestamp().isPresent()) {
          named(g, "timestamp", "valueInstant",
              new InstantType(Date.from(e.timestamp().get())).getValueAsString());
        }
        if (focusEntries && e.focus().isPresent()) {
          reference(g, "focus", e.focus().get());
        }
        g.writeEndArray();
        g.writeEndObject();
      }
      if (n.error().isPresent()) {
        named(g, "error", "valueString", n.error().get());
      }
      g.writeEndArray();
      g.writeEndObject();
      g.writeObjectFieldStart("request");
      g.writeStringField("method", "GET");
      g.writeStringField("url", n.subscription() + "/$status");
      g.writeEndObject();
      g.writeEndObject();

      if (focusEntries) {
        for (NotificationEvent e : n.events()) {
          if (e.focus().isEmpty()) {
            continue;
          }
          String focus = e.focus().get();
          g.writeStartObject();
          g.writeStringField("fullUrl", focus);
          g.writeObjectFieldStart("request");
          g.writeStringField("method", "PUT");
          g.writeStringField("url", focus);
          g.writeEndObject();
          g.writeObjectFieldStart("response");
          g.writeStringField("status", "200");
          g.writeEndObject();
          g.writeEndObject();
        }
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * A reference HAPI writes as it is: not local ({@code #id}) and with no version
   * ({@code /_history/}), which HAPI's encoder rewrites.
   */
  private static boolean plain(String reference) {
    return !reference.startsWith("#") && !reference.contains("/_history/");
  }

  /** What HAPI counts as no value (its primitives are empty when blank): not written here. */
  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  private static void profile(JsonGenerator g, String profile) throws IOException {
    g.writeObjectFieldStart("meta");
    g.writeArrayFieldStart("profile");
    g.writeString(profile);
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void named(JsonGenerator g, String name, String valueField, String value)
      throws IOException {
    g.writeStartObject();
    g.writeStringField("name", name);
    g.writeStringField(valueField, value);
    g.writeEndObject();
  }

  private static void reference(JsonGenerator g, String name, String reference) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", name);
    g.writeObjectFieldStart("valueReference");
    g.writeStringField("reference", reference);
    g.writeEndObject();
    g.writeEndObject();
  }
}
