package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Search pages are served by {@code _offset}: stateless, so that any node answers any page, and
 * searched afresh as each caller.
 */
class SearchPagingTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static TestSofa sofa;
  private static String emr;
  private static String app;
  private static String patient;

  @BeforeAll
  static void start() throws Exception {
    sofa = new TestSofa();
    Browser browser = new Browser();
    emr = sofa.emrToken(browser, "dr.tremblay", "password");
    String launch = sofa.setContext(emr, "growth-chart");
    app = sofa.appToken(browser, launch);
    patient = sofa.server.authorizationServer().tokenValidator().validate(app).orElseThrow()
        .patient().orElseThrow();
    for (int i = 0; i < 11; i++) {
      sofa.fhir(app).create().resource(TestSofa.weight(patient, 10 + i)).execute();
    }
  }

  @AfterAll
  static void stop() {
    sofa.close();
  }

  private static HttpResponse<String> get(String url, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token).header("Accept", "application/fhir+json")
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Bundle bundle(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return (Bundle) TestSofa.CTX.newJsonParser().parseResource(r.body());
  }

  private static int observations(Bundle b) {
    return (int) b.getEntry().stream().filter(e -> e.getResource().fhirType().equals("Observation")).count();
  }

  @Test
  void nextLinks_walkEveryResultOnceInAStableOrder_thenStop() throws Exception {
    String all = sofa.fhirBase() + "/Observation?patient=" + patient;
    int total = observations(bundle(get(all, app)));
    assertThat(total).isGreaterThanOrEqualTo(11);
    List<String> seen = new ArrayList<>();
    String url = all + "&_count=4";
    int pages = 0;
    while (url != null) {
      Bundle page = bundle(get(url, app));
      assertThat(page.getTotal()).isEqualTo(total);
      page.getEntry().forEach(e -> seen.add(e.getResource().getIdElement().toUnqualifiedVersionless().getValue()));
      assertThat(page.getEntry().size()).isLessThanOrEqualTo(4);
      if (pages > 0) {
        assertThat(page.getLink("previous")).as("a page after the first links back").isNotNull();
        assertThat(page.getLink("previous").getUrl()).contains("_offset=");
      }
      url = page.getLink("next") == null ? null : page.getLink("next").getUrl();
      if (url != null) {
        assertThat(url).contains("_offset=").doesNotContain("_getpages");
      }
      pages++;
      assertThat(pages).isLessThan(20);
    }
    assertThat(pages).isEqualTo((total + 3) / 4);
    assertThat(seen).hasSize(total).doesNotHaveDuplicates();
    assertThat(seen).isSorted();
  }

  @Test
  void aPage_askedDirectly_isTheSliceOfThatOffset() throws Exception {
    String base = sofa.fhirBase() + "/Observation?patient=" + patient;
    Bundle first = bundle(get(base + "&_count=100", app));
    Bundle third = bundle(get(base + "&_count=3&_offset=6", app));
    assertThat(third.getEntry()).extracting(e -> e.getResource().getIdElement().getIdPart())
        .containsExactlyElementsOf(first.getEntry().subList(6, 9).stream()
            .map(e -> e.getResource().getIdElement().getIdPart()).toList());
    Bundle beyond = bundle(get(base + "&_offset=500", app));
    assertThat(beyond.getEntry()).isEmpty();
    assertThat(beyond.getLink("next")).isNull();
  }

  @Test
  void aPageLink_followedByAnotherPrincipal_isSearchedAsThatPrincipal() throws Exception {
    String roy = sofa.emrToken(new Browser(), "dr.roy", "password2");
    HttpResponse<String> r = get(sofa.fhirBase() + "/Observation?patient=" + patient
        + "&_count=3&_offset=3", roy);
    assertThat(r.body()).doesNotContain("Observation/");
  }

  @Test
  void badOffsetOrCount_400WithOperationOutcome() throws Exception {
    for (String q : List.of("&_offset=-1", "&_count=0", "&_count=-5", "&_offset=x")) {
      HttpResponse<String> r = get(sofa.fhirBase() + "/Observation?patient=" + patient + q, app);
      assertThat(r.statusCode()).as(q).isEqualTo(400);
      assertThat(TestSofa.CTX.newJsonParser().parseResource(r.body())).as(q)
          .isInstanceOf(OperationOutcome.class);
    }
  }

  @Test
  void getpages_notServed() throws Exception {
    HttpResponse<String> r = get(sofa.fhirBase() + "?_getpages=abc&_getpagesoffset=0", app);
    assertThat(r.statusCode()).isBetween(400, 499);
    assertThat(r.body()).doesNotContain("Observation/");
  }
}
