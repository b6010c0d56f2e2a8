package ca.halo.conformance.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** FHIR R4 JSON as the checks write and read it: plain text in, Jackson trees out. */
public final class Fhir {
  private Fhir() {}

  public static String q(String s) {
    try {
      return Http.JSON.writeValueAsString(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A {@code $set-context} upload: a patient, an encounter and a condition, fresh ids. */
  public static final class Upload {
    public final String patientUuid = "urn:uuid:" + UUID.randomUUID();
    public final String encounterUuid = "urn:uuid:" + UUID.randomUUID();
    public final String conditionUuid = "urn:uuid:" + UUID.randomUUID();
    /** An identifier no other upload uses, to find what was stored. */
    public final String marker = "kit-" + UUID.randomUUID();
    public String appId;
    public String extraParameters = "";
    public String bundleType = "transaction";
    public String patientMethod = "POST";
    public String patientType = "Patient";
    public String patientParameter;
    public boolean withResources = true;

    public Upload(String appId) {
      this.appId = appId;
    }

    public String json() {
      String patientRef = patientParameter != null ? patientParameter : patientUuid;
      StringBuilder p = new StringBuilder("{\"resourceType\":\"Parameters\",\"parameter\":[");
      p.append("{\"name\":\"appID\",\"valueString\":").append(q(appId)).append("},");
      p.append("{\"name\":\"patient\",\"valueReference\":{\"reference\":").append(q(patientRef)).append("}},");
      p.append("{\"name\":\"encounter\",\"valueReference\":{\"reference\":").append(q(encounterUuid)).append("}},");
      p.append("{\"name\":\"fhirContext\",\"valueReference\":{\"reference\":").append(q(conditionUuid)).append("}},");
      p.append("{\"name\":\"need_patient_banner\",\"valueBoolean\":true},");
      p.append("{\"name\":\"intent\",\"valueString\":\"halo-conformance\"}");
      p.append(extraParameters);
      if (withResources) {
        p.append(",{\"name\":\"resources\",\"resource\":{\"resourceType\":\"Bundle\",\"type\":")
            .append(q(bundleType)).append(",\"entry\":[");
        p.append("{\"fullUrl\":").append(q(patientUuid)).append(",\"resource\":{\"resourceType\":")
            .append(q(patientType)).append(",\"identifier\":[{\"system\":\"urn:halo-conformance\",\"value\":")
            .append(q(marker)).append("}],\"name\":[{\"family\":\"Conformance\",\"given\":[\"Kit\"]}],")
            .append("\"gender\":\"female\",\"birthDate\":\"2015-03-04\"},\"request\":{\"method\":")
            .append(q(patientMethod)).append(",\"url\":").append(q(patientType)).append("}},");
        p.append("{\"fullUrl\":").append(q(encounterUuid)).append(",\"resource\":{\"resourceType\":\"Encounter\",")
            .append("\"status\":\"in-progress\",\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",")
            .append("\"code\":\"AMB\"},\"subject\":{\"reference\":").append(q(patientUuid)).append("}},")
            .append("\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}},");
        p.append("{\"fullUrl\":").append(q(conditionUuid)).append(",\"resource\":{\"resourceType\":\"Condition\",")
            .append("\"subject\":{\"reference\":").append(q(patientUuid)).append("},\"code\":{\"text\":\"HALO conformance check\"}},")
            .append("\"request\":{\"method\":\"POST\",\"url\":\"Condition\"}}");
        p.append("]}}");
      }
      p.append("]}");
      return p.toString();
    }
  }

  /** An Observation on a patient, as an app would write back. */
  public static String observation(String patientId, String marker) {
    return "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
        + "\"code\":\"29463-7\",\"display\":\"Body weight\"}],\"text\":" + q(marker) + "},\"subject\":{\"reference\":"
        + q("Patient/" + patientId) + "},\"valueQuantity\":{\"value\":18.2,\"unit\":\"kg\",\"system\":"
        + "\"http://unitsofmeasure.org\",\"code\":\"kg\"}}";
  }

  /** The value of a Parameters part, whatever its type, as text. */
  public static Optional<String> value(JsonNode part) {
    var it = part.fieldNames();
    while (it.hasNext()) {
      String f = it.next();
      if (f.startsWith("value")) {
        JsonNode v = part.get(f);
        if (v.isValueNode()) {
          return Optional.of(v.asText());
        }
        if (v.has("reference")) {
          return Optional.of(v.get("reference").asText());
        }
        return Optional.of(v.toString());
      }
    }
    return Optional.empty();
  }

  /** The first part of a Parameters named {@code name}. */
  public static Optional<JsonNode> part(JsonNode parameters, String name) {
    for (JsonNode p : parameters.path("parameter")) {
      if (name.equals(p.path("name").asText())) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  public static List<JsonNode> parts(JsonNode parameters, String name) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : parameters.path("parameter")) {
      if (name.equals(p.path("name").asText())) {
        out.add(p);
      }
    }
    for (JsonNode p : parameters.path("part")) {
      if (name.equals(p.path("name").asText())) {
        out.add(p);
      }
    }
    return out;
  }

  /** A SubscriptionStatus read from a notification Bundle (or a Parameters itself). */
  public static final class Status {
    public final String type;
    public final String status;
    /** The Subscription the status is about (a reference), or empty. */
    public final String subscription;
    public final long eventsSinceStart;
    /** event-number to focus reference (may be empty). */
    public final Map<Long, String> events;

    Status(String type, String status, String subscription, long since, Map<Long, String> events) {
      this.type = type;
      this.status = status;
      this.subscription = subscription;
      this.eventsSinceStart = since;
      this.events = events;
    }

    @Override
    public String toString() {
      return type + " (status " + status + ", events-since-subscription-start " + eventsSinceStart
          + ", events " + events.keySet() + ")";
    }
  }

  public static Status status(JsonNode bundleOrParameters) {
    JsonNode params = bundleOrParameters;
    if ("Bundle".equals(bundleOrParameters.path("resourceType").asText())) {
      params = bundleOrParameters.path("entry").path(0).path("resource");
    }
    if (!"Parameters".equals(params.path("resourceType").asText())) {
      throw new CheckFailure("the notification's first entry is not a SubscriptionStatus Parameters");
    }
    String type = part(params, "type").flatMap(Fhir::value).orElse("");
    String status = part(params, "status").flatMap(Fhir::value).orElse("");
    long since = part(params, "events-since-subscription-start").flatMap(Fhir::value)
        .map(Fhir::number).orElse(-1L);
    Map<Long, String> events = new LinkedHashMap<>();
    for (JsonNode ev : parts(params, "notification-event")) {
      long n = -1;
      String focus = "";
      for (JsonNode sub : ev.path("part")) {
        String name = sub.path("name").asText();
        if (name.equals("event-number")) {
          n = value(sub).map(Fhir::number).orElse(-1L);
        } else if (name.equals("focus")) {
          focus = value(sub).orElse("");
        }
      }
      events.put(n, focus);
    }
    String subscription = part(params, "subscription").flatMap(Fhir::value).orElse("");
    return new Status(type, status, subscription, since, events);
  }

  /**
   * Takes notifications off {@code queue} until one of {@code type} arrives (others are skipped,
   * non-FHIR messages too), recording each as evidence; null at the deadline.
   */
  static Status awaitType(java.util.concurrent.BlockingQueue<String> queue, String type, java.time.Duration wait,
      String label) throws InterruptedException {
    long end = System.nanoTime() + wait.toNanos();
    while (System.nanoTime() < end) {
      String m = queue.poll(Math.max(1, end - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
      if (m == null) {
        return null;
      }
      Evidence.add(label + ":\n" + Redact.body("application/json", m));
      JsonNode n;
      try {
        n = Http.JSON.readTree(m);
      } catch (java.io.IOException e) {
        throw new CheckFailure("a notification is not JSON: " + Redact.body("text/plain", m));
      }
      if (n == null || !n.has("resourceType")) {
        continue;
      }
      Status s = status(n);
      if (s.type.equals(type)) {
        return s;
      }
    }
    return null;
  }

  private static long number(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw new CheckFailure("an event number is not a whole number: " + Redact.body("text/plain", s));
    }
  }

  /** The bare id of a location such as {@code Patient/abc/_history/1} or a full URL. */
  public static String idOf(String location) {
    String[] p = location.split("/");
    for (int i = 0; i + 1 < p.length; i++) {
      if (!p[i].isEmpty() && Character.isUpperCase(p[i].charAt(0)) && !p[i + 1].startsWith("_")) {
        return p[i + 1];
      }
    }
    throw new CheckFailure("cannot read an id from location '" + location + "'");
  }

  public static String typeOf(String location) {
    String[] p = location.split("/");
    for (int i = 0; i + 1 < p.length; i++) {
      if (!p[i].isEmpty() && Character.isUpperCase(p[i].charAt(0)) && !p[i + 1].startsWith("_")) {
        return p[i];
      }
    }
    return "";
  }
}
