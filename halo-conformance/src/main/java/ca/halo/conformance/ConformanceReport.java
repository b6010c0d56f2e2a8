package ca.halo.conformance;

import ca.halo.conformance.internal.Reports;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Every check's result for one target, and the three ways to show them. */
public final class ConformanceReport {
  private final String target;
  private final String endpoint;
  private final Instant started;
  private final List<CheckResult> results;

  public ConformanceReport(String target, String endpoint, Instant started, List<CheckResult> results) {
    this.target = Objects.requireNonNull(target);
    this.endpoint = Objects.requireNonNull(endpoint);
    this.started = Objects.requireNonNull(started);
    this.results = List.copyOf(results);
  }

  /** sofa, catalog or poc. */
  public String target() { return target; }
  /** What was checked (a URL). */
  public String endpoint() { return endpoint; }
  public Instant started() { return started; }
  public List<CheckResult> results() { return results; }

  public long count(Outcome o) {
    return results.stream().filter(r -> r.outcome() == o).count();
  }

  /** Whether no check failed (skips do not fail a run). */
  public boolean passed() {
    return count(Outcome.FAIL) == 0;
  }

  public Optional<CheckResult> result(String id) {
    return results.stream().filter(r -> r.id().equals(id)).findFirst();
  }

  /** A line per check and a total, for a terminal. */
  public void printSummary(PrintStream out) {
    Reports.console(this, out);
  }

  /** JUnit XML (one testsuite, a testcase per check), which CI systems read. */
  public void writeJUnitXml(Path file) throws IOException {
    Reports.junit(this, file);
  }

  /** A self-contained HTML page (no scripts, no outside resources) to send to a vendor. */
  public void writeHtml(Path file) throws IOException {
    Reports.html(this, file);
  }

  @Override
  public String toString() {
    return "ConformanceReport{" + target + " " + endpoint + ": " + count(Outcome.PASS) + " passed, "
        + count(Outcome.FAIL) + " failed, " + count(Outcome.SKIP) + " skipped}";
  }
}
