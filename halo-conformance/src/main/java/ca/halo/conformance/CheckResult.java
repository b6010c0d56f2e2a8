package ca.halo.conformance;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One check's result: its id, the rule it tests, the outcome, a message (why it failed or was
 * skipped, or what was seen), and the HTTP exchanges it made, with tokens, codes, secrets and
 * passwords redacted.
 */
public final class CheckResult {
  private final String id;
  private final String title;
  private final Rule rule;
  private final Outcome outcome;
  private final String message;
  private final List<String> exchanges;
  private final Duration time;

  public CheckResult(String id, String title, Rule rule, Outcome outcome, String message,
      List<String> exchanges, Duration time) {
    this.id = Objects.requireNonNull(id, "id");
    this.title = Objects.requireNonNull(title, "title");
    this.rule = Objects.requireNonNull(rule, "rule");
    this.outcome = Objects.requireNonNull(outcome, "outcome");
    this.message = message == null ? "" : message;
    this.exchanges = List.copyOf(exchanges);
    this.time = Objects.requireNonNull(time, "time");
  }

  /** A stable id, e.g. {@code sofa.authz.pkce-required}. */
  public String id() {
    return id;
  }

  public String title() {
    return title;
  }

  public Rule rule() {
    return rule;
  }

  public Outcome outcome() {
    return outcome;
  }

  public boolean failed() {
    return outcome == Outcome.FAIL;
  }

  public String message() {
    return message;
  }

  /** The HTTP exchanges the check made, redacted, in order. */
  public List<String> exchanges() {
    return exchanges;
  }

  public Duration time() {
    return time;
  }

  @Override
  public String toString() {
    return outcome + " " + id + (message.isEmpty() ? "" : ": " + message);
  }
}
