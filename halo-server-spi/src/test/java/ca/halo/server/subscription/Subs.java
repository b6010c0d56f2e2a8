package ca.halo.server.subscription;

import ca.halo.core.subscription.Backport;
import ca.halo.server.TestSofa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.PositiveIntType;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UnsignedIntType;

/** Raw-HTTP helpers for the subscription tests: what any FHIR client would send. */
public final class Subs {
  public static final HttpClient HTTP = HttpClient.newHttpClient();

  private Subs() {}

  /** A backport rest-hook Subscription to the HALO topic. */
  public static Subscription restHook(URI endpoint, String filter, String payload) {
    Subscription s = new Subscription();
    s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
    s.setReason("test");
    s.setCriteria(Backport.HALO_TOPIC);
    if (filter != null) {
      s.getCriteriaElement().addExtension(Backport.FILTER_CRITERIA, new StringType(filter));
    }
    s.getChannel().setType(Subscription.SubscriptionChannelType.RESTHOOK)
        .setEndpoint(endpoint.toString()).setPayload("application/fhir+json");
    if (payload != null) {
      s.getChannel().getPayloadElement().addExtension(Backport.PAYLOAD_CONTENT,
          new org.hl7.fhir.r4.model.CodeType(payload));
    }
    return s;
  }

  public static Subscription websocket(String filter) {
    Subscription s = restHook(URI.create("https://unused.example"), filter, null);
    s.getChannel().setType(Subscription.SubscriptionChannelType.WEBSOCKET).setEndpoint(null);
    return s;
  }

  public static Subscription timeout(Subscription s, long seconds) {
    s.getChannel().addExtension(Backport.TIMEOUT, new UnsignedIntType(seconds));
    return s;
  }

  public static Subscription heartbeat(Subscription s, int seconds) {
    s.getChannel().addExtension(Backport.HEARTBEAT_PERIOD, new UnsignedIntType(seconds));
    return s;
  }

  public static Subscription maxCount(Subscription s, int n) {
    s.getChannel().addExtension(Backport.MAX_COUNT, new PositiveIntType(n));
    return s;
  }

  public static HttpResponse<String> post(TestSofa sofa, String path, String token, String body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sofa.fhirBase() + path))
        .header("Content-Type", "application/fhir+json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  public static HttpResponse<String> get(TestSofa sofa, String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sofa.fhirBase() + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** POST /Subscription; returns the raw answer. */
  public static HttpResponse<String> create(TestSofa sofa, String token, Subscription s) throws Exception {
    return post(sofa, "/Subscription", token, TestSofa.CTX.newJsonParser().encodeResourceToString(s));
  }

  /** POST /Subscription that must succeed; returns the id. */
  public static String created(TestSofa sofa, String token, Subscription s) throws Exception {
    return createdAt(URI.create(sofa.fhirBase().toString().replaceFirst("/fhir$", "")), token, s);
  }

  /** POST {@code [base]/fhir/Subscription} that must succeed; returns the id. */
  public static String createdAt(URI base, String token, Subscription s) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/fhir/Subscription"))
        .header("Content-Type", "application/fhir+json").header("Authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.ofString(TestSofa.CTX.newJsonParser().encodeResourceToString(s)))
        .build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 201) {
      throw new IllegalStateException("subscription refused: " + r.statusCode() + " " + r.body());
    }
    return ((Subscription) TestSofa.CTX.newJsonParser().parseResource(r.body())).getIdElement().getIdPart();
  }

  public static Subscription read(TestSofa sofa, String token, String id) throws Exception {
    HttpResponse<String> r = get(sofa, "/Subscription/" + id, token);
    if (r.statusCode() != 200) {
      throw new IllegalStateException("read refused: " + r.statusCode() + " " + r.body());
    }
    return (Subscription) TestSofa.CTX.newJsonParser().parseResource(r.body());
  }

  public static String launchFilter(String launchId) {
    return "Observation?launch=" + launchId;
  }

  public static Parameters params(String name, org.hl7.fhir.r4.model.Type value) {
    Parameters p = new Parameters();
    p.addParameter().setName(name).setValue(value);
    return p;
  }
}
