package ca.halo.sofaserver.attack;

import static ca.halo.sofaserver.attack.AttackSupport.HTTP;
import static ca.halo.sofaserver.attack.AttackSupport.config;
import static ca.halo.sofaserver.attack.AttackSupport.send;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.sofaserver.SofaApplication;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A malformed form or query (bad %-escape, bytes that are not UTF-8, an unknown charset) at
 * /auth/* is the caller's fault: Jetty throws BadMessageException (400) or
 * UnsupportedCharsetException while reading the parameters, OAuthServlet.service catches every
 * RuntimeException as a server failure and answers 500 server_error, logging a WARN each time:
 * anyone can fill the log at WARN and the 5xx rate of /metrics (alerts) at will.
 */
class OAuthBadInputAttackTest {
  @TempDir Path dir;

  private static HttpResponse<String> form(URI url, String contentType, String body)
      throws Exception {
    return HTTP.send(HttpRequest.newBuilder(url).header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void malformedParameters_areInvalidRequest_notServerError() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir, Map.of()))) {
      URI base = app.sofa().baseUrl();
      String ct = "application/x-www-form-urlencoded";
      HttpResponse<String> token = form(URI.create(base + "/auth/token"), ct,
          "grant_type=%ff%fe&client_id=x");
      HttpResponse<String> introspect = form(URI.create(base + "/auth/introspect"), ct,
          "token=%zz");
      HttpResponse<String> charset = form(URI.create(base + "/auth/token"),
          ct + "; charset=bogus", "grant_type=client_credentials");
      HttpResponse<String> authorize = send("GET", URI.create(base
          + "/auth/authorize?client_id=%ff"));
      for (HttpResponse<String> r : java.util.List.of(token, introspect, charset, authorize)) {
        assertThat(r.statusCode()).as("%s %s -> %s", r.request().method(), r.uri(), r.body())
            .isEqualTo(400);
        assertThat(r.body()).contains("invalid_request");
      }
    }
  }
}
