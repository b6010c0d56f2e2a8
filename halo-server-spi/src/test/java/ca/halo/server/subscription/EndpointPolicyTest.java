package ca.halo.server.subscription;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.HookReceiver;
import ca.halo.server.TestSofa;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.Test;

/**
 * Item 2 of the hardening issue: rest-hook endpoints and headers pass an endpoint policy, at
 * creation and at every connection, and every refusal looks the same.
 */
class EndpointPolicyTest {

  private static String diagnostics(HttpResponse<String> r) {
    return ((OperationOutcome) TestSofa.CTX.newJsonParser().parseResource(r.body()))
        .getIssueFirstRep().getDiagnostics();
  }

  @Test
  void create_internalOrPlainEndpoints_refusedWithOneVagueError_item2() throws Exception {
    try (TestSofa sofa = new TestSofa(b -> b.subscriptionEndpointPolicy(EndpointPolicy.publicHttpsOnly()));
        HookReceiver own = new HookReceiver()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      List<String> answers = new ArrayList<>();
      for (String endpoint : new String[] {
          own.url().toString(),                                  // plain http to loopback
          sofa.server.baseUrl() + "/auth/revoke",                // the SoFA itself
          "https://127.0.0.1:" + own.port() + "/hook",           // loopback
          "https://169.254.169.254/latest/meta-data/",           // cloud metadata
          "https://foo.localhost/hook",                          // loopback name
          "https://[::ffff:127.0.0.1]/hook",                     // mapped loopback
          "https://[::1]/hook",
          "https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://0.0.0.0/hook",
          "https://user:pw@example.org/hook",                    // credentials in the URL
          "ftp://example.org/hook", "not a url"}) {
        HttpResponse<String> r = Subs.create(sofa, emr, Subs.restHook(URI.create("https://x.invalid"),
            Subs.launchFilter(launch), null).setChannel(new Subscription.SubscriptionChannelComponent()
                .setType(Subscription.SubscriptionChannelType.RESTHOOK).setEndpoint(endpoint)));
        assertThat(r.statusCode()).as(endpoint + ": " + r.body()).isEqualTo(400);
        answers.add(diagnostics(r));
      }
      assertThat(answers).as("one answer for every refusal: no oracle").containsOnly(answers.get(0));
      assertThat(own.received()).isEmpty();
      assertThat(sofa.server.subscriptions().size()).isZero();
    }
  }

  @Test
  void create_forbiddenHeaders_refused_item2() throws Exception {
    try (TestSofa sofa = new TestSofa(); HookReceiver r = new HookReceiver()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      for (String h : new String[] {"Host: internal.example", "Cookie: session=1",
          "Transfer-Encoding: chunked", "Connection: keep-alive", "X-Forwarded-For: 10.0.0.1",
          "Content-Length: 1", "Authorization: Bearer a\u0000b", "Bad Name: x"}) {
        Subscription s = Subs.restHook(r.url(), Subs.launchFilter(launch), null);
        s.getChannel().addHeader(h);
        HttpResponse<String> refused = Subs.create(sofa, emr, s);
        assertThat(refused.statusCode()).as(h + ": " + refused.body()).isEqualTo(400);
      }
      // an end-to-end header is sent as given
      Subscription s = Subs.restHook(r.url(), Subs.launchFilter(launch), null);
      s.getChannel().addHeader("Authorization: Bearer hook-secret");
      Subs.created(sofa, emr, s);
      assertThat(r.await(x -> !x.received().isEmpty(), Duration.ofSeconds(10))).isTrue();
      assertThat(r.received().get(0).headers().get("Authorization")).containsExactly("Bearer hook-secret");
    }
  }

  @Test
  void delivery_hostRebindsToLoopback_refusedAtConnection_item2() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    EndpointPolicy rebinding = EndpointPolicy.builder().unsafeAllowPlainHttp(true)
        .resolver(host -> List.of(lookups.incrementAndGet() == 1
            ? InetAddress.getByAddress(host, new byte[] {93, (byte) 184, (byte) 216, 34})
            : InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1})))
        .build();
    try (TestSofa sofa = new TestSofa(b -> b.subscriptionEndpointPolicy(rebinding)
            .subscriptionSettings(s -> s.maxAttempts(2).initialBackoff(Duration.ofMillis(20))));
        HookReceiver r = new HookReceiver()) {
      String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
      String launch = sofa.setContext(emr, "growth-chart");
      String id = Subs.created(sofa, emr, Subs.restHook(URI.create("http://rebind.example:" + r.port()
          + "/hook"), Subs.launchFilter(launch), null));
      long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      Subscription s = Subs.read(sofa, emr, id);
      while (s.getStatus() != Subscription.SubscriptionStatus.ERROR && System.nanoTime() < end) {
        Thread.sleep(50);
        s = Subs.read(sofa, emr, id);
      }
      assertThat(s.getStatus()).isEqualTo(Subscription.SubscriptionStatus.ERROR);
      assertThat(lookups.get()).isGreaterThan(1);
      assertThat(r.received()).as("nothing reached loopback").isEmpty();
    }
  }

  @Test
  void addressClasses_defaultPolicyRefusesEveryNonPublicForm_item2() throws Exception {
    for (String a : new String[] {"127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.5.4",
        "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "0.1.2.3",
        "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1", "::1", "::",
        "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "::127.0.0.1", "2002:7f00:0001::1", "64:ff9b::a9fe:a9fe", "2001:db8::1"}) {
      assertThat(EndpointPolicy.isPublic(InetAddress.getByName(a))).as(a).isFalse();
    }
    for (String a : new String[] {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
        "2606:4700::1111", "2002:5db8:d822::1"}) {
      assertThat(EndpointPolicy.isPublic(InetAddress.getByName(a))).as(a).isTrue();
    }
    EndpointPolicy p = EndpointPolicy.publicHttpsOnly();
    assertThat(p.permitsHeader("Authorization")).isTrue();
    assertThat(p.permitsHeader("host")).isFalse();
    assertThat(p.permitsHeader("Proxy-Authorization")).isFalse();
    EndpointPolicy mixed = EndpointPolicy.builder().resolver(h -> List.of(
        InetAddress.getByName("93.184.216.34"), InetAddress.getByName("10.0.0.1"))).build();
    assertThat(mixed.permits(URI.create("https://mixed.example/hook")))
        .as("one private address among public ones refuses the host").isFalse();
    try {
      mixed.resolve("mixed.example");
      throw new AssertionError("resolve must refuse");
    } catch (UnknownHostException expected) {
      assertThat(expected.getMessage()).doesNotContain("10.0.0.1");
    }
  }
}
