package ca.halo.conformance.internal;

import ca.halo.conformance.CheckResult;
import ca.halo.conformance.Outcome;
import ca.halo.conformance.Rule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs checks in order. A check that needs another one's outcome is skipped, with that reason,
 * when the other did not pass; a check that throws anything else than a failure or a skip is a
 * failure with the exception named (the implementation answered something the kit did not expect).
 */
public final class Suite {
  /** A check's body: returns what it saw when it passes. */
  public interface Body {
    String run() throws Exception;
  }

  private final List<CheckResult> results = new ArrayList<>();
  private final Map<String, Outcome> outcomes = new HashMap<>();
  private final Consumer<CheckResult> listener;

  public Suite(Consumer<CheckResult> listener) {
    this.listener = listener;
  }

  public List<CheckResult> results() {
    return List.copyOf(results);
  }

  public boolean passed(String id) {
    return outcomes.get(id) == Outcome.PASS;
  }

  /** Runs one check; {@code needs} are ids of checks that must have passed. */
  public void check(String id, String title, Rule rule, List<String> needs, Body body) {
    long start = System.nanoTime();
    Evidence.begin();
    Outcome outcome;
    String message;
    String missing = null;
    for (String n : needs) {
      if (!passed(n)) {
        missing = n;
        break;
      }
    }
    if (missing != null) {
      outcome = Outcome.SKIP;
      message = "needs " + missing + ", which did not pass";
    } else {
      try {
        message = body.run();
        outcome = Outcome.PASS;
      } catch (CheckFailure | AssertionError e) {
        outcome = Outcome.FAIL;
        message = e.getMessage();
      } catch (CheckSkipped e) {
        outcome = Outcome.SKIP;
        message = e.getMessage();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        outcome = Outcome.FAIL;
        message = "interrupted";
      } catch (Exception | LinkageError e) {
        outcome = Outcome.FAIL;
        message = "unexpected answer: " + e;
      }
    }
    CheckResult r = new CheckResult(id, title, rule, outcome, Redact.values(message), Evidence.end(),
        Duration.ofNanos(System.nanoTime() - start));
    results.add(r);
    outcomes.put(id, outcome);
    listener.accept(r);
  }

  /** Fails the running check unless {@code condition} holds. */
  public static void require(boolean condition, String message) {
    if (!condition) {
      throw new CheckFailure(message);
    }
  }

  /** Skips the running check. */
  public static CheckSkipped skip(String reason) {
    return new CheckSkipped(reason);
  }
}
