package ca.halo.conformance.internal;

import static ca.halo.conformance.internal.Suite.require;

import ca.halo.conformance.Rule;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** The {@code catalog} target: an App Catalog supplier (CA:AC-1). */
public final class CatalogChecks {
  private static final String AC = "HALO CA:AC-1 Retrieve App List";
  private final URI base;
  private final String appId;
  private final Suite s;
  private final Http http = Http.plain();
  private JsonNode list;

  /** {@code appId}: an app that must be listed and active, or null. */
  public CatalogChecks(URI catalogBase, String appId, Suite suite) {
    String b = catalogBase.toString();
    this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
    this.appId = appId;
    this.s = suite;
  }

  private URI apps(String rest) {
    return URI.create(base + "/apps" + rest);
  }

  public void run() {
    s.check("catalog.list", "The catalog lists its apps",
        Rule.of("GET [catalog]/apps answers 200 JSON {apps:[...]} whose entries have id, name and status",
            AC + " (decision: listing fields)"), List.of(), () -> {
          Http.Response r = http.get(apps(""), "Accept", "application/json");
          require(r.status == 200, "expected 200, got " + r.status);
          list = r.json();
          require(list.path("apps").isArray(), "no apps array");
          List<String> wrong = new ArrayList<>();
          for (JsonNode a : list.path("apps")) {
            for (String f : List.of("id", "name", "status")) {
              if (!a.path(f).isTextual()) {
                wrong.add(a.path("id").asText("?") + "." + f);
              }
            }
          }
          require(wrong.isEmpty(), "entries missing fields: " + wrong);
          return list.path("apps").size() + " apps listed";
        });
    List<String> listed = List.of("catalog.list");
    s.check("catalog.app-listed", "The app under test is listed and active",
        Rule.of("The appID the PoC sends is an active app of the catalog", AC + "; HALO CA:SoFA-1 (appID)"), listed, () -> {
          if (appId == null) {
            throw Suite.skip("no app id given");
          }
          Http.Response r = http.get(apps("/" + Http.enc(appId)), "Accept", "application/json");
          require(r.status == 200, "GET /apps/" + appId + " answered " + r.status);
          JsonNode a = r.json();
          require(appId.equals(a.path("id").asText()), "the entry's id is " + a.path("id").asText());
          require("active".equals(a.path("status").asText()), "status is " + a.path("status").asText());
          return appId + " active";
        });
    s.check("catalog.unknown-app", "An unknown app id is 404 with a JSON error",
        Rule.of("GET [catalog]/apps/{unknown} answers 404 with {error, error_description}", AC + " (decision: JSON errors)"),
        listed, () -> {
          Http.Response r = http.get(apps("/kit-no-such-app-" + Pkce.random(6)), "Accept", "application/json");
          require(r.status == 404, "expected 404, got " + r.status);
          require(r.isJson() && r.json().path("error").isTextual(), "the 404 has no JSON error body");
          return "404 " + r.json().path("error").asText();
        });
    s.check("catalog.filter-status", "status filter", Rule.of("?status=active lists active apps only",
        AC + " (decision: filters)"), listed, () -> {
          Http.Response r = http.get(apps("?status=active"), "Accept", "application/json");
          require(r.status == 200, "expected 200, got " + r.status);
          for (JsonNode a : r.json().path("apps")) {
            require("active".equals(a.path("status").asText()), a.path("id").asText() + " is " + a.path("status").asText());
          }
          return r.json().path("apps").size() + " active apps";
        });
    s.check("catalog.filter-launch-type", "launchType filter", Rule.of("?launchType=ehr lists apps with the ehr launch type only",
        AC + " (decision: filters)"), listed, () -> {
          Http.Response r = http.get(apps("?launchType=ehr"), "Accept", "application/json");
          require(r.status == 200, "expected 200, got " + r.status);
          for (JsonNode a : r.json().path("apps")) {
            require(SofaChecks.texts(a.path("launchTypes")).contains("ehr"), a.path("id").asText() + " lacks ehr");
          }
          return r.json().path("apps").size() + " EHR-launch apps";
        });
    s.check("catalog.bad-filter", "An unknown filter is refused",
        Rule.of("An unknown filter answers 400 with a JSON error rather than being ignored", AC + " (decision: strict filters)"),
        listed, () -> {
          Http.Response r = http.get(apps("?not-a-filter=1"), "Accept", "application/json");
          require(r.status == 400, "expected 400, got " + r.status);
          require(r.isJson() && r.json().path("error").isTextual(), "no JSON error body");
          return "400 " + r.json().path("error").asText();
        });
    s.check("catalog.paging", "Paging with _count and page", Rule.of("_count bounds a page; next leads to the next page",
        AC + " (decision: _count/page)"), listed, () -> {
          Http.Response r = http.get(apps("?_count=1&status=all"), "Accept", "application/json");
          require(r.status == 200, "expected 200, got " + r.status);
          JsonNode p1 = r.json();
          require(p1.path("apps").size() <= 1, "_count=1 gave " + p1.path("apps").size() + " apps");
          if (p1.path("total").asInt(0) < 2) {
            return "one page only";
          }
          require(p1.path("next").isTextual(), "more apps than the page holds, but no next");
          String n = p1.path("next").asText();
          URI nextUri = n.startsWith("http") ? URI.create(n) : n.startsWith("?") ? apps(n) : base.resolve(n);
          require(Trust.origin(nextUri).equals(Trust.origin(base)), "next leads to another origin: " + Redact.query(n));
          Http.Response r2 = http.get(nextUri, "Accept", "application/json");
          require(r2.status == 200, "the next page answered " + r2.status);
          String a = p1.path("apps").path(0).path("id").asText();
          String b = r2.json().path("apps").path(0).path("id").asText();
          require(!a.equals(b), "page 2 repeats page 1's app " + a);
          return "page 1: " + a + ", page 2: " + b;
        });
    s.check("catalog.etag", "ETag and 304", Rule.of("Listings carry an ETag and answer 304 to If-None-Match",
        AC + " (decision: ETag/If-None-Match); RFC 9110 §13.1.2"), listed, () -> {
          Http.Response r = http.get(apps(""), "Accept", "application/json");
          String etag = r.header("etag").orElseThrow(() -> new CheckFailure("no ETag"));
          Http.Response again = http.get(apps(""), "Accept", "application/json", "If-None-Match", etag);
          require(again.status == 304, "If-None-Match with the ETag answered " + again.status);
          return "ETag " + etag + ", 304";
        });
  }
}
