package ca.halo.core.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.RefreshingAccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import java.net.URI;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Scripted 401s: a real server cannot be made to refuse a token exactly once on demand. */
class FhirClientsTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private MockWebServer server;
  private HaloHttp http;

  @BeforeEach
  void start() throws Exception {
    server = new MockWebServer();
    server.start(0);
    http = HaloHttp.defaults();
  }

  @AfterEach
  void stop() {
    server.close();
    http.close();
  }

  private static MockResponse patient(String id) {
    Patient p = new Patient();
    p.setId(id);
    p.addName().setFamily("Tremblay");
    return new MockResponse.Builder().code(200)
        .setHeader("Content-Type", "application/fhir+json")
        .body(CTX.newJsonParser().encodeResourceToString(p)).build();
  }

  @Test
  void read_sendsBearerAndNoMetadataCall() throws Exception {
    server.enqueue(patient("p1"));
    IGenericClient c = FhirClients.genericClient(CTX, URI.create(server.url("/fhir").toString()),
        http, ca.halo.core.auth.AccessTokenProvider.fixed(AccessToken.withoutExpiry("tok-1")));
    Patient p = c.read().resource(Patient.class).withId("p1").execute();
    assertThat(p.getNameFirstRep().getFamily()).isEqualTo("Tremblay");
    RecordedRequest r = server.takeRequest(5, TimeUnit.SECONDS);
    assertThat(r.getUrl().encodedPath()).isEqualTo("/fhir/Patient/p1");
    assertThat(r.getHeaders().get("Authorization")).isEqualTo("Bearer tok-1");
    assertThat(r.getHeaders().get("User-Agent")).startsWith("halo-java-sdk");
    assertThat(server.getRequestCount()).isEqualTo(1);
  }

  @Test
  void read_401ThenRefresh_retriesOnceWithNewToken() throws Exception {
    server.enqueue(new MockResponse.Builder().code(401).build());
    server.enqueue(patient("p1"));
    AtomicInteger refreshes = new AtomicInteger();
    RefreshingAccessTokenProvider tokens = RefreshingAccessTokenProvider
        .builder(cur -> AccessToken.of("new-" + refreshes.incrementAndGet(),
            Instant.now().plusSeconds(600)))
        .initial(AccessToken.of("old", Instant.now().plusSeconds(600)))
        .build();
    IGenericClient c = FhirClients.genericClient(CTX, URI.create(server.url("/fhir").toString()),
        http, tokens);
    c.read().resource(Patient.class).withId("p1").execute();
    assertThat(server.takeRequest().getHeaders().get("Authorization")).isEqualTo("Bearer old");
    assertThat(server.takeRequest().getHeaders().get("Authorization")).isEqualTo("Bearer new-1");
    assertThat(refreshes).hasValue(1);
  }

  @Test
  void read_401Twice_givesUpAfterOneRetry() {
    server.enqueue(new MockResponse.Builder().code(401).build());
    server.enqueue(new MockResponse.Builder().code(401).build());
    server.enqueue(patient("never"));
    RefreshingAccessTokenProvider tokens = RefreshingAccessTokenProvider
        .builder(cur -> AccessToken.of("new", Instant.now().plusSeconds(600)))
        .initial(AccessToken.of("old", Instant.now().plusSeconds(600)))
        .build();
    IGenericClient c = FhirClients.genericClient(CTX, URI.create(server.url("/fhir").toString()),
        http, tokens);
    assertThatThrownBy(() -> c.read().resource(Patient.class).withId("p1").execute())
        .isInstanceOf(AuthenticationException.class);
    assertThat(server.getRequestCount()).isEqualTo(2);
  }

  @Test
  void create_postsJsonBodyWithContentType() throws Exception {
    server.enqueue(new MockResponse.Builder().code(201)
        .setHeader("Location", server.url("/fhir/Patient/9/_history/1").toString()).build());
    IGenericClient c = FhirClients.anonymousClient(CTX, URI.create(server.url("/fhir").toString()), http);
    Patient p = new Patient();
    p.addName().setFamily("Roy");
    var outcome = c.create().resource(p).execute();
    assertThat(outcome.getId().getIdPart()).isEqualTo("9");
    RecordedRequest r = server.takeRequest();
    assertThat(r.getMethod()).isEqualTo("POST");
    assertThat(r.getHeaders().get("Content-Type")).startsWith("application/fhir+json");
    assertThat(r.getBody().utf8()).contains("Roy");
    assertThat(r.getHeaders().get("Authorization")).isNull();
  }
}
