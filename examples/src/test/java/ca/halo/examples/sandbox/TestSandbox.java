package ca.halo.examples.sandbox;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The sandbox wired as {@link Serve#withWebPages} wires it, with the servlets' clock and session
 * limits chosen by the test and the servlets at hand (to read what the SoFA was told, such as a
 * subscription's rest-hook secret).
 */
final class TestSandbox implements AutoCloseable {
  final Jurisdiction j;
  final URI base;
  private final AtomicReference<WebEmrServlet> emr = new AtomicReference<>();

  private TestSandbox(Clock clock, Duration idleTimeout, int maxSessions) {
    AtomicReference<Jurisdiction> ref = new AtomicReference<>();
    j = new Jurisdiction("127.0.0.1", 0, b -> b
        .mount("/emr/*", s -> {
          WebEmrServlet w = new WebEmrServlet(EmrConfig.embedded(s), clock, idleTimeout, maxSessions);
          emr.set(w);
          return w;
        })
        .mount("/apps/*", s -> new SampleAppServlet(() -> ref.get().catalog, s.fhirContext(), s.baseUrl(),
            Set.of(s.fhirBase()), clock, idleTimeout, maxSessions)));
    ref.set(j);
    base = j.sofa.baseUrl();
  }

  static TestSandbox start() {
    return new TestSandbox(Clock.systemUTC(), Duration.ofMinutes(30), 1000);
  }

  static TestSandbox start(Clock clock, Duration idleTimeout, int maxSessions) {
    return new TestSandbox(clock, idleTimeout, maxSessions);
  }

  WebEmrServlet emr() {
    return emr.get();
  }

  @Override
  public void close() {
    j.close();
  }

  /** A clock the test moves by hand. */
  static final class MovableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-11-02T09:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
