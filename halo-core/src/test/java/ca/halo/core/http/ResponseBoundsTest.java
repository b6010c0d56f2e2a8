package ca.halo.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ca.halo.core.HaloTransportException;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.internal.http.NimbusHttp;
import ca.halo.core.internal.http.ResponseSizeLimitInterceptor.ResponseTooLargeException;
import ca.halo.core.testkit.HostileHttpServer;
import ca.halo.core.testkit.HostileHttpServer.Mode;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import java.net.URI;
import java.time.Duration;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import okhttp3.Request;
import okhttp3.Response;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A hostile server answering 1 GiB, an endless chunked body or an endless close-delimited body:
 * every reader in halo-core stops near its cap with a typed error, and the server sees the client
 * hang up long before it could have sent everything.
 */
class ResponseBoundsTest {
  /** What the server may get into socket buffers beyond what the client read. */
  private static final long SLACK = 16L << 20;
  /** The server gives up here; a client that reads this much has no bound. */
  private static final long SERVER_CAP = 512L << 20;
  private static final Duration BOUND = Duration.ofSeconds(20);

  private static HostileHttpServer server(Mode mode, String prefix, String unit) throws Exception {
    return new HostileHttpServer(mode, prefix, unit, SERVER_CAP);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void nimbusHttp_hostileBody_transportErrorNearOneMiB(Mode mode) throws Exception {
    try (HostileHttpServer s = server(mode, "{\"token_endpoint\":\"", "aaaaaaaa");
        HaloHttp http = HaloHttp.defaults()) {
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(
              () -> NimbusHttp.get(http, s.url("/.well-known/smart-configuration"), "discovery"))
          .isInstanceOf(HaloTransportException.class)
          .hasMessageContaining("larger than"));
      assertThat(s.bytesWritten()).isLessThan(NimbusHttp.MAX_BODY + SLACK);
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void haloHttp_bodyPastMaxResponseBytes_ioExceptionNearTheCap(Mode mode) throws Exception {
    long cap = 4L << 20;
    try (HostileHttpServer s = server(mode, "[", "0,");
        HaloHttp http = HaloHttp.builder().maxResponseBytes(cap).build()) {
      Request r = new Request.Builder().url(s.url("/x").toString()).build();
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> {
        try (Response response = http.okHttp().newCall(r).execute()) {
          response.body().bytes();
        }
      }).isInstanceOf(ResponseTooLargeException.class));
      assertThat(s.bytesWritten()).isLessThan(cap + SLACK);
    }
  }

  @Test
  void haloHttp_defaultCap_refusesDeclaredGibibyteWithoutReading() throws Exception {
    try (HostileHttpServer s = server(Mode.HUGE_CONTENT_LENGTH, "{", "\"a\":1,");
        HaloHttp http = HaloHttp.defaults()) {
      Request r = new Request.Builder().url(s.url("/x").toString()).build();
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> {
        try (Response response = http.okHttp().newCall(r).execute()) {
          response.body().string();
        }
      }).isInstanceOf(ResponseTooLargeException.class));
      assertThat(s.bytesWritten()).isLessThan(HaloHttp.DEFAULT_MAX_RESPONSE_BYTES);
      assertThat(http.maxResponseBytes()).isEqualTo(HaloHttp.DEFAULT_MAX_RESPONSE_BYTES);
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void fhirClient_hostileBody_connectionErrorNearTheCap(Mode mode) throws Exception {
    long cap = 4L << 20;
    try (HostileHttpServer s = server(mode,
            "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[",
            "{\"fullUrl\":\"urn:x\"},");
        HaloHttp http = HaloHttp.builder().maxResponseBytes(cap).build()) {
      IGenericClient fhir = FhirClients.anonymousClient(FhirContext.forR4Cached(),
          s.url("/fhir"), http);
      assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(
              () -> fhir.read().resource(Observation.class).withId("1").execute())
          .isInstanceOf(FhirClientConnectionException.class)
          .hasRootCauseInstanceOf(ResponseTooLargeException.class));
      assertThat(s.bytesWritten()).isLessThan(cap + SLACK);
    }
  }

  @Test
  void fhirClient_hugeExponentInAnswer_refusedBeforeHapiParsesIt() throws Exception {
    // HAPI 8.8.1 would expand 1E+50000000 into fifty million digits and parse them back (hours)
    try (MockWebServer server = new MockWebServer(); HaloHttp http = HaloHttp.defaults()) {
      server.enqueue(new MockResponse.Builder().code(200)
          .setHeader("Content-Type", "application/fhir+json")
          .body("{\"resourceType\":\"Observation\",\"id\":\"1\",\"status\":\"final\","
              + "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":1E+50000000}}")
          .build());
      assertReadRefusedAsUnsafeNumber(server, http);
    }
  }

  /** A read from {@code server}'s queued answer fails within 5 s, the screen's refusal inside. */
  private static void assertReadRefusedAsUnsafeNumber(MockWebServer server, HaloHttp http)
      throws Exception {
    server.start();
    IGenericClient fhir = FhirClients.anonymousClient(FhirContext.forR4Cached(),
        URI.create(server.url("/fhir").toString()), http);
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(
            () -> fhir.read().resource(Observation.class).withId("1").execute())
        .isInstanceOf(FhirClientConnectionException.class)
        .hasRootCauseInstanceOf(DataFormatException.class)
        .rootCause().hasMessageContaining("number"));
  }

  /**
   * The forwarding review: HAPI's JSON reader skips any leading Java whitespace and takes single
   * quotes and a leading {@code +}, which strict JSON refuses; a screen that stopped there, or
   * that went by the Content-Type, let HAPI expand the number behind them. A raw answer (a
   * transaction sent as text) is read by what it starts with, so every answer is screened.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "application/fhir+json|FORM_FEED|{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"total\":1E+50000000}",
      "text/plain|FORM_FEED|{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"total\":1E+50000000}",
      "application/fhir+xml|IDEOGRAPHIC_SPACE|{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"total\":1E+50000000}",
      "application/fhir+json|NONE|{'resourceType':'Bundle','type':'transaction-response','total':1E+50000000}",
      "application/fhir+json|NONE|{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"total\":+1E+50000000}"})
  void fhirClient_hugeExponentBehindWhatStrictJsonRefuses_refusedBeforeHapiParsesIt(String contentType,
      String lead, String body) throws Exception {
    String prefix = switch (lead) {
      case "FORM_FEED" -> "\f";
      case "IDEOGRAPHIC_SPACE" -> "\u3000";
      default -> "";
    };
    try (MockWebServer server = new MockWebServer(); HaloHttp http = HaloHttp.defaults()) {
      server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", contentType)
          .body(prefix + body).build());
      server.start();
      IGenericClient fhir = FhirClients.anonymousClient(FhirContext.forR4Cached(),
          URI.create(server.url("/fhir").toString()), http);
      org.hl7.fhir.r4.model.Bundle tx = new org.hl7.fhir.r4.model.Bundle()
          .setType(org.hl7.fhir.r4.model.Bundle.BundleType.TRANSACTION);
      assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(
              () -> fhir.transaction().withBundle(FhirContext.forR4Cached().newJsonParser()
                  .encodeResourceToString(tx)).execute())
          .isInstanceOf(FhirClientConnectionException.class)
          .hasRootCauseInstanceOf(DataFormatException.class)
          .rootCause().hasMessageContaining("number"));
    }
  }

  /**
   * An answer in a charset other than UTF-8, as its Content-Type declares it: HAPI reads it in
   * that charset, so the screen must too. Read as UTF-8, such a body starts with a NUL or a
   * replacement character, the screen stopped there, and HAPI went on to expand the number
   * (attacker's review: 2.3 s at 1E+400000 on an error answer, hours at 1E+50000000).
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({
      "UTF-16, 500", "UTF-16LE, 404", "UTF-32, 400", "IBM037, 500", "UTF-16, 200"})
  void fhirClient_hugeExponentInAnotherCharset_refusedBeforeHapiParsesIt(String charset, int status)
      throws Exception {
    String body = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
        + "\"code\":\"processing\",\"extension\":[{\"url\":\"http://x\",\"valueDecimal\":1E+50000000}]}]}";
    try (MockWebServer server = new MockWebServer(); HaloHttp http = HaloHttp.defaults()) {
      server.enqueue(new MockResponse.Builder().code(status)
          .setHeader("Content-Type", "application/fhir+json; charset=" + charset)
          .body(new okio.Buffer().write(body.getBytes(java.nio.charset.Charset.forName(charset))))
          .build());
      assertReadRefusedAsUnsafeNumber(server, http);
    }
  }

  @Test
  void builder_nonPositiveMaxResponseBytes_rejected() {
    assertThatThrownBy(() -> HaloHttp.builder().maxResponseBytes(0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
