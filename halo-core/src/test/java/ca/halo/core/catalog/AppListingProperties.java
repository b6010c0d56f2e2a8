package ca.halo.core.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.HaloParseException;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link AppListing#parse(String)} and {@link AppListing#parseList(String)} on hostile catalog
 * JSON. Only {@link HaloParseException} may escape, within a bounded time; a listing that parses
 * must answer every accessor without throwing and survive its own round trip.
 */
class AppListingProperties {
  static final String FULL = "{\"id\":\"growth-chart\",\"name\":\"Pediatric Growth Chart\","
      + "\"description\":\"Plots height and weight.\",\"version\":\"2.3.0\",\"status\":\"active\","
      + "\"publisher\":{\"name\":\"Prairie Health Apps\",\"url\":\"https://prairie.example\","
      + "\"contact\":\"apps@prairie.example\"},"
      + "\"launchUrl\":\"https://prairie.example/app/launch\","
      + "\"redirectUris\":[\"https://prairie.example/app/callback\"],"
      + "\"clientId\":\"growth-chart-client\",\"clientType\":\"public\","
      + "\"scopes\":[\"launch\",\"openid\",\"fhirUser\",\"patient/*.rs\",\"patient/Observation.c\"],"
      + "\"launchTypes\":[\"ehr\"],\"fhirVersions\":[\"4.0.1\"],"
      + "\"contextRequirements\":[\"patient\",\"encounter\"],\"offlineAccess\":false,"
      + "\"logoUrl\":\"https://prairie.example/logo.png\","
      + "\"privacyPolicyUrl\":\"https://prairie.example/privacy\","
      + "\"termsOfServiceUrl\":\"https://prairie.example/terms\","
      + "\"categories\":[\"pediatrics\"],\"jurisdictions\":[\"CA-AB\"],"
      + "\"lastUpdated\":\"2026-10-01T12:00:00Z\",\"x-vendor-rating\":{\"stars\":4.5}}";
  static final String MINIMAL = "{\"id\":\"a\",\"name\":\"A\",\"status\":\"retired\"}";
  static final List<String> FIELDS = List.of("id", "name", "status", "description", "version",
      "publisher", "launchUrl", "redirectUris", "clientId", "clientType", "scopes", "launchTypes",
      "fhirVersions", "contextRequirements", "offlineAccess", "logoUrl", "privacyPolicyUrl",
      "termsOfServiceUrl", "categories", "jurisdictions", "lastUpdated", "apps", "url", "contact");

  @Provide
  Arbitrary<Mutant> listings() {
    return JsonMutations.mutantsOf(List.of(FULL, MINIMAL), FIELDS);
  }

  @Provide
  Arbitrary<Mutant> catalogs() {
    return JsonMutations.mutantsOf(List.of("{\"apps\":[" + FULL + "," + MINIMAL + "]}",
        "[" + MINIMAL + "," + FULL + "]"), FIELDS);
  }

  @Property(tries = 500)
  void parse_mutatedListing_onlyHaloParseException(@ForAll("listings") Mutant m) {
    Outcomes.Outcome<AppListing> out = Outcomes.onlyTyped(Outcomes.PARSE_BOUND,
        () -> exercise(AppListing.parse(m.text())), HaloParseException.class);
    if (out.succeeded()) {
      assertThat(AppListing.parse(out.value().toJson())).isEqualTo(out.value());
    }
  }

  @Property(tries = 300)
  void parseList_mutatedCatalog_onlyHaloParseException(@ForAll("catalogs") Mutant m) {
    Outcomes.onlyTyped(Outcomes.PARSE_BOUND, () -> {
      List<AppListing> apps = AppListing.parseList(m.text());
      apps.forEach(AppListingProperties::exercise);
      return apps;
    }, HaloParseException.class);
  }

  /** Every accessor of a listing that parsed: none may throw. */
  static AppListing exercise(AppListing a) {
    a.id();
    a.name();
    a.status();
    a.isActive();
    a.description();
    a.version();
    a.clientId();
    a.clientType();
    a.launchUrl();
    a.logoUrl();
    a.privacyPolicyUrl();
    a.termsOfServiceUrl();
    a.lastUpdated();
    a.offlineAccess();
    a.redirectUris();
    a.launchTypes();
    a.fhirVersions();
    a.contextRequirements();
    a.categories();
    a.jurisdictions();
    a.publisherName();
    a.publisherUrl();
    a.publisherContact();
    a.scopes();
    a.needsPatientContext();
    a.needsEncounterContext();
    a.supportsEhrLaunch();
    a.extension("x-vendor-rating");
    a.asMap();
    a.matchesText("growth");
    a.toString();
    a.hashCode();
    return a;
  }
}
