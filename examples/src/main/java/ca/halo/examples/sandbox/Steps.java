package ca.halo.examples.sandbox;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Runs numbered demo steps, prints each with its outcome and time, and remembers failures. */
public final class Steps {
  /** A step body; returns the detail line to print. */
  @FunctionalInterface
  public interface Body {
    String run() throws Exception;
  }

  /** One printed result. */
  public record Result(String flow, int number, String title, boolean passed, long millis, String detail) {}

  private final PrintStream out;
  private final String flow;
  private final int total;
  private final List<Result> results = new ArrayList<>();
  private boolean failed;

  public Steps(PrintStream out, String flow, int total) {
    this.out = out;
    this.flow = flow;
    this.total = total;
  }

  /** Runs a step unless an earlier one failed (later steps depend on earlier ones). */
  public void step(String title, Body body) {
    int n = results.size() + 1;
    if (failed) {
      results.add(new Result(flow, n, title, false, 0, "not run: an earlier step failed"));
      out.printf("  [%2d/%d] %-58s SKIP%n", n, total, title);
      return;
    }
    long t0 = System.nanoTime();
    try {
      String detail = body.run();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      results.add(new Result(flow, n, title, true, ms, detail));
      out.printf("  [%2d/%d] %-58s PASS %5d ms  %s%n", n, total, title, ms, detail);
    } catch (Exception | AssertionError e) {
      long ms = (System.nanoTime() - t0) / 1_000_000;
      failed = true;
      results.add(new Result(flow, n, title, false, ms, e.toString()));
      out.printf("  [%2d/%d] %-58s FAIL %5d ms  %s%n", n, total, title, ms, e);
    }
  }

  public List<Result> results() {
    return List.copyOf(results);
  }

  public boolean allPassed() {
    return !failed && results.size() == total;
  }

  /** Throws an AssertionError with {@code message} unless {@code condition}. */
  public static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }
}
