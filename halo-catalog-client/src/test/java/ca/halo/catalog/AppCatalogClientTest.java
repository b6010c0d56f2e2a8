package ca.halo.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.catalog.AppListing;
import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Client and supplier on loopback. */
class AppCatalogClientTest {
  private static String catalogJson;
  private static TestSofa sofa;
  private static AppCatalogClient client;

  @BeforeAll
  static void start() throws Exception {
    try (InputStream in = AppCatalogClientTest.class.getResourceAsStream("/fixtures/catalog.json")) {
      catalogJson = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    InMemoryAppCatalogRepository repo = InMemoryAppCatalogRepository.fromJson(catalogJson);
    sofa = new TestSofa(b -> b.catalog(repo));
    client = AppCatalogClient.builder().baseUrl(sofa.server.catalogBase()).build();
  }

  @AfterAll
  static void stop() {
    client.close();
    sofa.close();
  }

  @Test
  void list_default_onlyActiveApps() {
    AppListingPage p = client.list(AppQuery.all());
    assertThat(p.apps()).extracting(AppListing::id).containsExactly("growth-chart", "med-rec");
    assertThat(p.total()).isEqualTo(2);
    assertThat(p.hasNext()).isFalse();
  }

  @Test
  void list_filters() {
    assertThat(ids(AppQuery.builder().text("GROWTH").build())).containsExactly("growth-chart");
    assertThat(ids(AppQuery.builder().text("prairie").build())).containsExactly("growth-chart");
    assertThat(ids(AppQuery.builder().category("pharmacy").build())).containsExactly("med-rec");
    assertThat(ids(AppQuery.builder().launchType("standalone").build())).containsExactly("med-rec");
    assertThat(ids(AppQuery.builder().fhirScope("patient/Observation.c").build())).containsExactly("growth-chart");
    assertThat(ids(AppQuery.builder().status("retired").build())).containsExactly("old-dashboard");
    assertThat(ids(AppQuery.builder().status("all").category("charting").build()))
        .containsExactly("growth-chart", "old-dashboard");
  }

  private static java.util.List<String> ids(AppQuery q) {
    return client.list(q).apps().stream().map(AppListing::id).toList();
  }

  @Test
  void list_paging_andListAll() {
    AppListingPage p1 = client.list(AppQuery.builder().status("all").pageSize(3).build());
    assertThat(p1.apps()).hasSize(3);
    assertThat(p1.hasNext()).isTrue();
    assertThat(p1.total()).isEqualTo(4);
    AppListingPage p2 = client.list(AppQuery.builder().status("all").pageSize(3).page(2).build());
    assertThat(p2.apps()).extracting(AppListing::id).containsExactly("paused-app");
    assertThat(client.listAll(AppQuery.builder().status("all").pageSize(1).build())).hasSize(4);
  }

  @Test
  void get_knownAndUnknown() {
    AppListing a = client.get("growth-chart").orElseThrow();
    assertThat(a.name()).isEqualTo("Pediatric Growth Chart");
    assertThat(a.publisherName()).contains("Prairie Health Apps");
    assertThat(a.clientId()).contains("growth-chart-client");
    assertThat(a.launchUrl()).contains(URI.create("http://localhost:9/app/launch"));
    assertThat(a.needsPatientContext()).isTrue();
    assertThat(a.needsEncounterContext()).isTrue();
    assertThat(a.scopes().format()).isEqualTo("launch openid fhirUser patient/*.rs patient/Observation.c");
    assertThat(a.lastUpdated()).isPresent();
    assertThat(client.get("nope")).isEmpty();
  }

  @Test
  void unknownFields_preservedThroughSupplierAndClient() {
    AppListing a = client.get("growth-chart").orElseThrow();
    assertThat(a.extension("x-vendor-rating")).contains("{\"stars\":4.5}");
    assertThat(AppListing.parse(a.toJson())).isEqualTo(a);
  }

  @Test
  void polling_costsOne304PerPoll() {
    try (AppCatalogClient c = AppCatalogClient.builder().baseUrl(sofa.server.catalogBase()).build()) {
      AppListingPage first = c.list(AppQuery.all());
      AppListingPage second = c.list(AppQuery.all());
      AppListingPage third = c.list(AppQuery.all());
      assertThat(second).isEqualTo(first);
      assertThat(third).isEqualTo(first);
      assertThat(c.notModifiedCount()).isEqualTo(2);
      c.get("med-rec");
      c.get("med-rec");
      assertThat(c.notModifiedCount()).isEqualTo(3);
    }
  }

  @Test
  void badFilters_clearErrors() throws Exception {
    Browser b = new Browser();
    HttpResponse<String> r = b.get(URI.create(sofa.server.catalogBase() + "/apps?colour=red"));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestSofa.json(r.body()).get("error_description").asText()).contains("colour");
    assertThat(b.get(URI.create(sofa.server.catalogBase() + "/apps?page=abc")).statusCode()).isEqualTo(400);
    assertThat(b.get(URI.create(sofa.server.catalogBase() + "/apps?_count=0")).statusCode()).isEqualTo(400);
    assertThat(b.get(URI.create(sofa.server.catalogBase() + "/apps?_count=1000")).statusCode()).isEqualTo(400);
    assertThat(b.get(URI.create(sofa.server.catalogBase() + "/apps?status=gone")).statusCode()).isEqualTo(400);
    assertThat(b.get(URI.create(sofa.server.catalogBase() + "/apps?launchType=x")).statusCode()).isEqualTo(400);
    HttpResponse<String> nf = b.get(URI.create(sofa.server.catalogBase() + "/apps/unknown"));
    assertThat(nf.statusCode()).isEqualTo(404);
    assertThat(TestSofa.json(nf.body()).get("error").asText()).isEqualTo("not_found");
    assertThatThrownBy(() -> AppQuery.builder().launchType("web").build())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void malformedCatalog_rejectedNamingEntryAndField() {
    String bad = catalogJson.replace("\"status\": \"active\",\n      \"launchUrl\": \"http://localhost:9/medrec/launch\"",
        "\"status\": \"live\",\n      \"launchUrl\": \"http://localhost:9/medrec/launch\"");
    assertThatThrownBy(() -> InMemoryAppCatalogRepository.fromJson(bad))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("entry [1]").hasMessageContaining("status");
    assertThatThrownBy(() -> InMemoryAppCatalogRepository.fromJson("[{\"id\":\"a\",\"status\":\"active\"}]"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> InMemoryAppCatalogRepository.fromJson(
            "[{\"id\":\"a\",\"name\":\"A\",\"status\":\"active\",\"scopes\":[\"patient/X.zz\"]}]"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("scopes");
    assertThatThrownBy(() -> InMemoryAppCatalogRepository.fromJson(
            "[{\"id\":\"a\",\"name\":\"A\",\"status\":\"active\",\"launchUrl\":\"/relative\"}]"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("launchUrl");
    assertThatThrownBy(() -> InMemoryAppCatalogRepository.fromJson("{not json"))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("malformed");
  }

  @Test
  void catalogEntry_makesAppLaunchable_retiredDoesNot() throws Exception {
    Browser b = new Browser();
    String emr = sofa.emrToken(b, "dr.tremblay", "password");
    Parameters out = sofa.fhir(emr).operation().onServer().named("$set-context")
        .withParameters(TestSofa.sixResourceContext("growth-chart")).execute();
    Browser.Authz a = b.authorize(sofa.authorize(), Map.of("client_id", "growth-chart-client",
        "redirect_uri", "http://localhost:9/app/callback", "aud", sofa.fhirBase().toString(),
        "launch", TestSofa.launchId(out), "scope", "launch patient/*.rs"), "dr.tremblay", "password");
    assertThat(a.callback()).containsKey("code");
    Browser.Authz retired = b.authorize(sofa.authorize(), Map.of("client_id", "old-dashboard-client",
        "redirect_uri", "http://localhost:9/old/callback", "aud", sofa.fhirBase().toString(),
        "launch", TestSofa.launchId(out), "scope", "launch patient/*.rs"), "dr.tremblay", "password");
    assertThat(retired.last.statusCode()).isEqualTo(400);
  }
}
