package ca.halo.server.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.InstantType;

/**
 * Reads the usual answer of a FHIR server to a successful transaction (a {@code
 * transaction-response} Bundle whose entries hold only {@code response}: status, location, etag,
 * lastModified and an informational outcome) with jackson-core's streaming parser, for {@code
 * RemoteFhirRepository}. HAPI's parser first builds a JSON tree and then walks it with a lookup
 * per element: on a SoFA forwarding {@code $set-context} to HAPI FHIR JPA, reading HAPI JPA's
 * 3 KB answer that way was a fifth of the SoFA's CPU per request.
 *
 * <p>What it builds is what HAPI's parser builds for the same text, except each entry's {@code
 * response.outcome}: HAPI JPA puts an informational OperationOutcome ("Successfully created
 * resource ...") in every entry of a successful transaction, which the repository contract does
 * not carry, so it is passed over as it streams by, unread but for its resourceType (HAPI's
 * parser would refuse one with, say, a severity code it does not know; here nothing of it is
 * kept); only when every entry's status is 2xx. Any other shape, down to
 * one more member anywhere, a value of another JSON type, or more entries than were sent, reads
 * as {@code null}, and the caller gives the text to HAPI's parser, so a server's unusual answer
 * reads as it always did. Not public API.
 */
public final class TransactionAnswers {
  private static final JsonFactory FACTORY = new JsonFactory();

  private TransactionAnswers() {}

  /** A shape this reader leaves to HAPI's parser. */
  private static final class Unusual extends Exception {
    Unusual() {
      super(null, null, false, false);
    }
  }

  /**
   * The transaction-response in {@code json} when it has the usual shape with at most {@code
   * entries} entries, or null.
   */
  public static Bundle read(String json, int entries) {
    try (JsonParser p = FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      Bundle b = bundle(p, entries);
      return p.nextToken() == null ? b : null; // nothing after the answer's object
    } catch (IOException | RuntimeException | Unusual e) {
      return null;
    }
  }

  private static Bundle bundle(JsonParser p, int maxEntries) throws IOException, Unusual {
    Bundle b = new Bundle();
    Set<String> seen = new HashSet<>();
    boolean isBundle = false;
    boolean isResponse = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      once(seen, name);
      JsonToken t = p.nextToken();
      switch (name) {
        case "resourceType" -> isBundle = "Bundle".equals(text(p, t));
        case "id" -> b.setId(text(p, t));
        case "type" -> isResponse = "transaction-response".equals(text(p, t));
        case "meta" -> meta(p, t, b);
        case "link" -> links(p, t, b);
        case "entry" -> entries(p, t, b, maxEntries);
        default -> throw new Unusual();
      }
    }
    if (!isBundle || !isResponse) {
      throw new Unusual();
    }
    b.setType(Bundle.BundleType.TRANSACTIONRESPONSE);
    return b;
  }

  private static void meta(JsonParser p, JsonToken t, Bundle b) throws IOException, Unusual {
    if (t != JsonToken.START_OBJECT) {
      throw new Unusual();
    }
    Set<String> seen = new HashSet<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      once(seen, name);
      if (!name.equals("lastUpdated")) {
        throw new Unusual();
      }
      b.getMeta().setLastUpdatedElement(instant(text(p, p.nextToken())));
    }
  }

  private static void links(JsonParser p, JsonToken t, Bundle b) throws IOException, Unusual {
    if (t != JsonToken.START_ARRAY) {
      throw new Unusual();
    }
    for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
      if (n != JsonToken.START_OBJECT || b.getLink().size() >= 10) {
        throw new Unusual();
      }
      Bundle.BundleLinkComponent l = b.addLink();
      Set<String> seen = new HashSet<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        once(seen, name);
        String v = text(p, p.nextToken());
        switch (name) {
          case "relation" -> l.setRelation(v);
          case "url" -> l.setUrl(v);
          default -> throw new Unusual();
        }
      }
    }
    if (b.getLink().isEmpty()) {
      throw new Unusual(); // HAPI keeps no empty list; neither do we guess what it makes of one
    }
  }

  private static void entries(JsonParser p, JsonToken t, Bundle b, int maxEntries)
      throws IOException, Unusual {
    if (t != JsonToken.START_ARRAY) {
      throw new Unusual();
    }
    for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
      if (n != JsonToken.START_OBJECT || b.getEntry().size() >= maxEntries) {
        throw new Unusual();
      }
      if (p.nextToken() != JsonToken.FIELD_NAME || !p.currentName().equals("response")
          || p.nextToken() != JsonToken.START_OBJECT) {
        throw new Unusual(); // an entry of anything but a response (a resource, a fullUrl)
      }
      response(p, b.addEntry().getResponse());
      if (p.nextToken() != JsonToken.END_OBJECT) {
        throw new Unusual();
      }
    }
    if (b.getEntry().isEmpty()) {
      throw new Unusual();
    }
  }

  private static void response(JsonParser p, Bundle.BundleEntryResponseComponent r)
      throws IOException, Unusual {
    Set<String> seen = new HashSet<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      once(seen, name);
      JsonToken t = p.nextToken();
      switch (name) {
        case "status" -> r.setStatus(text(p, t));
        case "location" -> r.setLocation(text(p, t));
        case "etag" -> r.setEtag(text(p, t));
        case "lastModified" -> r.setLastModifiedElement(instant(text(p, t)));
        case "outcome" -> outcome(p, t);
        default -> throw new Unusual();
      }
    }
    if (!r.hasStatus() || !r.getStatus().startsWith("2")) {
      throw new Unusual(); // an outcome of a refused entry is worth HAPI's reading
    }
  }

  /**
   * Passes over an outcome: an OperationOutcome (what HAPI's parser refuses, another resource
   * type, is left to it), whose other members are skipped as they stream by, nothing kept.
   */
  private static void outcome(JsonParser p, JsonToken t) throws IOException, Unusual {
    if (t != JsonToken.START_OBJECT) {
      throw new Unusual();
    }
    boolean typed = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("resourceType")) {
        if (typed || !"OperationOutcome".equals(text(p, v))) {
          throw new Unusual();
        }
        typed = true;
      } else {
        p.skipChildren(); // a container streams by; a scalar is already passed
      }
    }
    if (!typed) {
      throw new Unusual();
    }
  }

  /** A member named twice: HAPI's tree keeps the last; leave that to it. */
  private static void once(Set<String> seen, String name) throws Unusual {
    if (!seen.add(name)) {
      throw new Unusual();
    }
  }

  /** A non-empty JSON string, or {@link Unusual}. */
  private static String text(JsonParser p, JsonToken t) throws IOException, Unusual {
    if (t != JsonToken.VALUE_STRING) {
      throw new Unusual();
    }
    String s = p.getText();
    if (s.isEmpty() || !s.strip().equals(s)) {
      throw new Unusual(); // HAPI trims or drops such values; leave them to it
    }
    return s;
  }

  private static InstantType instant(String s) throws Unusual {
    try {
      return new InstantType(s);
    } catch (RuntimeException notAnInstant) {
      throw new Unusual(); // HAPI's parser says what is wrong with it
    }
  }
}
