package ca.halo.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.examples.sandbox.Jurisdiction;
import ca.halo.server.authz.AuthorizationStateStore;
import ca.halo.server.authz.BrowserRequest;
import ca.halo.server.authz.InMemoryAuthorizationStateStore;
import ca.halo.server.authz.OAuthHttpResponse;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.InMemorySubscriptionStore;
import ca.halo.server.subscription.SubscriptionEvent;
import ca.halo.server.subscription.SubscriptionStore;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The kit catches real defects: SoFAs built on the SPI, each with one rule switched off, and the
 * check for that rule fails citing it (while the same kit passes the intact sandbox, see
 * {@link SandboxConformanceTest}).
 */
class BrokenSofaTest {
  private static ConformanceReport run(Consumer<SofaServer.Builder> breakIt) {
    try (Jurisdiction j = new Jurisdiction("127.0.0.1", 0, breakIt)) {
      return ConformanceKit.checkSofa(SandboxConformanceTest.target(j), x -> { });
    }
  }

  private static void assertFails(ConformanceReport r, String checkId, String source) {
    try {
      r.writeHtml(java.nio.file.Path.of("target", "conformance", "broken-" + checkId, "report.html"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    CheckResult c = r.result(checkId).orElseThrow();
    assertThat(c.outcome()).as(checkId + ": " + c.message()).isEqualTo(Outcome.FAIL);
    assertThat(c.rule().source()).contains(source);
    assertThat(r.passed()).isFalse();
  }

  /** A delegate of {@code iface} with one method answered by {@code override} (null: delegate). */
  @SuppressWarnings("unchecked")
  private static <T> T intercept(Class<T> iface, T delegate, java.util.function.BiFunction<String, Object[], Object> override) {
    return (T) Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface}, (p, m, args) -> {
      Object o = override.apply(m.getName(), args);
      if (o != null) {
        return o;
      }
      try {
        return m.invoke(delegate, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
  }

  @Test
  void codeReuseAllowed_singleUseCheckFails() {
    AuthorizationStateStore real = InMemoryAuthorizationStateStore.builder().build();
    Map<String, AuthorizationStateStore.CodeRedemption> first = new ConcurrentHashMap<>();
    AuthorizationStateStore reusable = intercept(AuthorizationStateStore.class, real, (name, args) -> {
      if (!name.equals("redeemCode")) {
        return null;
      }
      String code = (String) args[0];
      AuthorizationStateStore.CodeRedemption seen = first.get(code);
      if (seen != null) {
        return seen; // the defect: a used code redeems again
      }
      AuthorizationStateStore.CodeRedemption r = real.redeemCode(code, (String) args[1],
          (java.util.Optional<String>) args[2], (java.time.Instant) args[3], (java.time.Instant) args[4]);
      if (r.status() == AuthorizationStateStore.CodeRedemption.Status.REDEEMED) {
        first.put(code, r);
      }
      return r;
    });
    ConformanceReport r = run(b -> b.authorizationStore(reusable));
    assertFails(r, "sofa.token.code-single-use", "RFC 6749 §4.1.2");
  }

  @Test
  void pkcePlainAccepted_plainCheckFails() {
    // the authorization endpoint, in front of the real one, takes plain as if it were S256
    ConformanceReport r = run(b -> b.mount("/auth/authorize", sofa -> new HttpServlet() {
      @Override
      protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        req.getParameterMap().forEach((k, v) -> p.put(k, v[0]));
        if ("plain".equals(p.get("code_challenge_method"))) {
          p.put("code_challenge", ca.halo.conformance.internal.Pkce.s256(p.get("code_challenge")));
          p.put("code_challenge_method", "S256");
        }
        BrowserRequest.Builder br = BrowserRequest.builder(req.getMethod(), p)
            .origin(req.getHeader("Origin")).remoteAddress(req.getRemoteAddr());
        if (req.getCookies() != null) {
          for (Cookie c : req.getCookies()) {
            br.cookie(c.getName(), c.getValue());
          }
        }
        OAuthHttpResponse o = sofa.authorizationServer().authorize(br.build());
        resp.setStatus(o.status());
        o.headers().forEach(resp::addHeader);
        o.contentType().ifPresent(resp::setContentType);
        if (o.body().isPresent()) {
          resp.getOutputStream().write(o.body().get().getBytes(StandardCharsets.UTF_8));
        }
      }
    }));
    assertFails(r, "sofa.authz.pkce-plain-refused", "RFC 7636 §4.2");
  }

  @Test
  void foreignClearAllowed_foreignClearCheckFails() {
    // every Context writer counted as an administrator: the ownership rule is off
    ConformanceReport r = run(b -> b.adminScopes(Set.of("user/Context.write")));
    assertFails(r, "sofa.clear-context.foreign", "CA:SoFA-2");
  }

  @Test
  void eventNumbersSkip_numberingCheckFails() {
    SubscriptionStore real = new InMemorySubscriptionStore();
    SubscriptionStore skipping = intercept(SubscriptionStore.class, real, (name, args) -> {
      if (name.equals("appendEvent")) {
        // the defect: every change takes two numbers, and only the second is ever told
        real.appendEvent((String) args[0], (java.time.Instant) args[1], (String) args[2], (Integer) args[3],
            (java.time.Instant) args[4]);
        return real.appendEvent((String) args[0], (java.time.Instant) args[1], (String) args[2], (Integer) args[3],
            (java.time.Instant) args[4]);
      }
      if (name.equals("events")) {
        List<SubscriptionEvent> all = real.events((String) args[0], (Long) args[1], (Long) args[2], (Integer) args[3]);
        return all.stream().filter(e -> e.number() % 2 == 0).collect(Collectors.toList());
      }
      return null;
    });
    ConformanceReport r = run(b -> b.subscriptionStore(skipping));
    assertFails(r, "sofa.subscription.events-numbered", "event numbering");
  }
}
