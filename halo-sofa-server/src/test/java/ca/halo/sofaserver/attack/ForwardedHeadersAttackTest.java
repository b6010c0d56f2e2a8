package ca.halo.sofaserver.attack;

import static ca.halo.sofaserver.attack.AttackSupport.authorize;
import static ca.halo.sofaserver.attack.AttackSupport.config;
import static ca.halo.sofaserver.attack.AttackSupport.send;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.sofaserver.SofaApplication;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * server.trustedProxies: the test client is the trusted reverse proxy (127.0.0.1). A real proxy
 * (nginx {@code $proxy_add_x_forwarded_for}, AWS ALB, Envoy, HAProxy {@code option forwardfor})
 * appends the peer it sees to whatever {@code X-Forwarded-For} the browser sent, and passes a
 * {@code Forwarded} header it does not manage through untouched. The per-address bound on pending
 * sign-ins (100 per address) must count by the address the proxy saw, not by one the browser wrote.
 */
class ForwardedHeadersAttackTest {
  private static final String REAL_CLIENT = "198.51.100.7";
  @TempDir Path dir;

  /** Fills the real client's share of pending sign-ins (100) and checks that it is full. */
  private static void exhaust(URI base) throws Exception {
    for (int i = 0; i < 100; i++) {
      assertThat(send("GET", authorize(base), "X-Forwarded-For", REAL_CLIENT).statusCode())
          .isEqualTo(200);
    }
    assertThat(send("GET", authorize(base), "X-Forwarded-For", REAL_CLIENT).statusCode())
        .as("the 101st pending sign-in of one address").isEqualTo(429);
  }

  @Test
  void xForwardedFor_leftMostEntryWrittenByTheBrowser_isNotTheClientAddress() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir,
        Map.of("HALO_SERVER_TRUSTED_PROXIES", "127.0.0.1")))) {
      URI base = app.sofa().baseUrl();
      exhaust(base);
      // the browser sent "X-Forwarded-For: 203.0.113.9"; the proxy appended the real peer
      int status = send("GET", authorize(base),
          "X-Forwarded-For", "203.0.113.9, " + REAL_CLIENT).statusCode();
      assertThat(status).as("a spoofed left-most X-Forwarded-For entry escapes the per-address"
          + " bound (Jetty's ForwardedRequestCustomizer takes the left-most entry)")
          .isEqualTo(429);
    }
  }

  @Test
  void forwardedHeaderFromTheBrowser_doesNotOverrideTheProxysXForwardedFor() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir,
        Map.of("HALO_SERVER_TRUSTED_PROXIES", "127.0.0.1")))) {
      URI base = app.sofa().baseUrl();
      exhaust(base);
      // the proxy manages X-Forwarded-For only; the browser's own Forwarded header passes through
      int status = send("GET", authorize(base), "X-Forwarded-For", REAL_CLIENT,
          "Forwarded", "for=203.0.113.10").statusCode();
      assertThat(status).as("a browser-written Forwarded header wins over the proxy's"
          + " X-Forwarded-For and escapes the per-address bound").isEqualTo(429);
    }
  }
}
