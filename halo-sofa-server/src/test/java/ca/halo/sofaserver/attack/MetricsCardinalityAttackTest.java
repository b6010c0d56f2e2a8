package ca.halo.sofaserver.attack;

import static ca.halo.sofaserver.attack.AttackSupport.config;
import static ca.halo.sofaserver.attack.AttackSupport.send;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.SetContextDefaults;
import ca.halo.sofaserver.SofaApplication;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An anonymous caller, without any token, walks the route labels ObservingHandler.route makes
 * (every resource type x every operation x id / _history / other) with a few methods. Each
 * (method, route, status) is a Timer with a percentile histogram (~70 bucket series), and
 * /metrics is itself served to anyone: a few thousand anonymous requests make every scrape tens
 * of megabytes, which the same anonymous caller can then request over and over.
 */
class MetricsCardinalityAttackTest {
  @TempDir Path dir;

  @Test
  void anonymousRequests_doNotBlowUpTheMetricsLabelSpace() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir, Map.of()))) {
      URI base = app.sofa().baseUrl();
      int before = send("GET", URI.create(base + "/metrics")).body().length();

      List<String> types = new ArrayList<>(SetContextDefaults.ALLOWED_RESOURCE_TYPES);
      types.add("Subscription");
      List<String> ops = List.of("$set-context", "$clear-context", "$status", "$events",
          "$get-ws-binding-token", "$x");
      List<String> paths = new ArrayList<>();
      for (String t : types) {
        paths.add("/fhir/" + t);
        paths.add("/fhir/" + t + "/1");
        paths.add("/fhir/" + t + "/1/_history");
        for (String op : ops) {
          paths.add("/fhir/" + t + "/" + op);
          paths.add("/fhir/" + t + "/1/" + op);
        }
      }
      int requests = 0;
      for (String p : paths) {
        for (String m : List.of("GET", "POST", "DELETE")) {
          send(m, URI.create(base + p)); // no Authorization: 401 (or 405)
          requests++;
        }
      }

      HttpResponse<String> scrape = send("GET", URI.create(base + "/metrics"));
      assertThat(scrape.statusCode()).isEqualTo(200);
      String m = scrape.body();
      Set<String> series = new TreeSet<>();
      Set<String> routes = new TreeSet<>();
      Matcher x = Pattern.compile("halo_http_server_requests_seconds_count\\{([^}]*)\\}")
          .matcher(m);
      while (x.find()) {
        series.add(x.group(1));
        Matcher r = Pattern.compile("route=\"([^\"]*)\"").matcher(x.group(1));
        if (r.find()) {
          routes.add(r.group(1));
        }
      }
      System.out.printf("%d anonymous requests: %d request timers, %d route labels, /metrics"
          + " %d -> %d bytes%n", requests, series.size(), routes.size(), before, m.length());
      // route templates ("/fhir/{type}/{id}", as SofaObserver documents) keep this to a few
      // dozen label sets and the scrape small, whatever anonymous callers send
      assertThat(routes).as("route labels minted by anonymous requests").hasSizeLessThan(50);
      assertThat(m.length()).as("bytes of one /metrics scrape after %d anonymous requests",
          requests).isLessThan(2_000_000);
    }
  }
}
