package ca.halo.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.HaloException;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import okio.Buffer;

/**
 * {@link AppCatalogClient#list(AppQuery)} and {@link AppCatalogClient#get(String)} against a
 * loopback catalog answering mutated pages and listings (from the catalog fixture), under assorted
 * status codes, with and without an ETag, twice per try so the 304 path reads the cached body
 * again. Only a {@link HaloException} may escape, within a bounded time; every listing returned
 * answers all its accessors.
 */
class AppCatalogClientProperties {
  private static final ObjectMapper M = new ObjectMapper();
  private static final Duration BOUND = Duration.ofSeconds(5);
  private static final List<String> FIELDS = List.of("apps", "total", "page", "next", "id",
      "name", "status", "launchUrl", "redirectUris", "scopes", "launchTypes", "publisher",
      "lastUpdated", "clientType", "offlineAccess", "error", "error_description");

  private final MockWebServer server = new MockWebServer();
  private final HaloHttp http = HaloHttp.defaults();
  private final AppCatalogClient client;
  private volatile Mutant answer;
  private volatile int status;
  private volatile String etag;

  AppCatalogClientProperties() throws Exception {
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest r) {
        String inm = r.getHeaders().get("If-None-Match");
        if (etag != null && etag.equals(inm)) {
          return new MockResponse.Builder().code(304).build();
        }
        MockResponse.Builder b = new MockResponse.Builder().code(status)
            .setHeader("Content-Type", "application/json")
            .body(new Buffer().write(answer.bytes()));
        if (etag != null) {
          b.addHeaderLenient("ETag", etag);
        }
        return b.build();
      }
    });
    server.start();
    client = AppCatalogClient.builder().http(http)
        .baseUrl(URI.create(server.url("/catalog").toString())).build();
  }

  @AfterProperty
  void close() {
    client.close();
    http.close();
    server.close();
  }

  static String catalogFixture() {
    try (InputStream in = AppCatalogClientProperties.class
        .getResourceAsStream("/fixtures/catalog.json")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String page() throws Exception {
    ObjectNode o = (ObjectNode) M.readTree(catalogFixture());
    o.put("total", o.get("apps").size()).put("page", 1).putNull("next");
    return M.writeValueAsString(o);
  }

  static String listing() throws Exception {
    JsonNode first = M.readTree(catalogFixture()).get("apps").get(0);
    return M.writeValueAsString(first);
  }

  @Provide
  Arbitrary<Mutant> pages() throws Exception {
    return JsonMutations.mutantsOf(List.of(page(), "{\"error\":\"invalid_request\","
        + "\"error_description\":\"unknown filter\"}"), FIELDS);
  }

  @Provide
  Arbitrary<Mutant> listings() throws Exception {
    return JsonMutations.mutantsOf(List.of(listing()), FIELDS);
  }

  @Provide
  Arbitrary<Integer> statuses() {
    return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(200)),
        Tuple.of(2, Arbitraries.of(304, 400, 401, 404, 410, 500, 302)));
  }

  @Provide
  Arbitrary<String> etags() {
    return Arbitraries.of(null, "\"v1\"", "W/\"weak\"", "", "\u00e9t\u00e9");
  }

  @Property(tries = 150)
  void list_mutatedPage_onlyHaloException(@ForAll("pages") Mutant m,
      @ForAll("statuses") int code, @ForAll("etags") String tag) {
    answer = m;
    status = code;
    etag = tag == null ? null : tag + m.hashCode();
    for (int round = 0; round < 2; round++) {
      Outcomes.Outcome<AppListingPage> out = Outcomes.onlyTyped(BOUND,
          () -> client.list(AppQuery.all()), HaloException.class);
      if (out.succeeded()) {
        out.value().apps().forEach(AppCatalogClientProperties::exercise);
        assertThat(out.value().toString()).isNotBlank();
      }
    }
  }

  @Property(tries = 150)
  void get_mutatedListing_onlyHaloException(@ForAll("listings") Mutant m,
      @ForAll("statuses") int code, @ForAll("etags") String tag) {
    answer = m;
    status = code;
    etag = tag == null ? null : tag + m.hashCode();
    for (int round = 0; round < 2; round++) {
      Outcomes.Outcome<Optional<AppListing>> out = Outcomes.onlyTyped(BOUND,
          () -> client.get("growth-chart"), HaloException.class);
      if (out.succeeded()) {
        out.value().ifPresent(AppCatalogClientProperties::exercise);
      }
    }
  }

  @Example
  void get_nonAsciiEtag_notCachedAndNextRequestWorks() throws Exception {
    // regression: the ETag went back in If-None-Match, where OkHttp refuses non-ASCII with
    // IllegalArgumentException, on every later request for that URL
    answer = Mutant.ofText(listing(), "fixture");
    status = 200;
    etag = "\"\u00e9t\u00e9\"";
    assertThat(client.get("growth-chart")).isPresent();
    assertThat(client.get("growth-chart")).isPresent();
    assertThat(client.notModifiedCount()).isZero();
    assertThat(AppCatalogClient.sendable("W/\"v1\"")).isTrue();
    assertThat(AppCatalogClient.sendable("\"a\nb\"")).isFalse();
  }

  private static void exercise(AppListing a) {
    a.id();
    a.name();
    a.launchUrl();
    a.redirectUris();
    a.lastUpdated();
    a.scopes();
    a.needsPatientContext();
    a.supportsEhrLaunch();
    a.asMap();
    a.toJson();
  }
}
