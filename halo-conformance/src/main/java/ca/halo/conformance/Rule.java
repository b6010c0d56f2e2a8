package ca.halo.conformance;

import java.util.Objects;

/**
 * The rule a check tests, with where it is written: a HALO profile and transaction, a SMART App
 * Launch 2.1 section, an RFC and section, or one of this SDK's documented decisions where the
 * published texts are silent.
 */
public final class Rule {
  private final String text;
  private final String source;

  private Rule(String text, String source) {
    this.text = Objects.requireNonNull(text, "text");
    this.source = Objects.requireNonNull(source, "source");
  }

  /** A rule, e.g. {@code Rule.of("PKCE is required", "RFC 7636 §4.4.1; SMART App Launch 2.1 §2.0.10")}. */
  public static Rule of(String text, String source) {
    return new Rule(text, source);
  }

  /** What must hold, in one sentence. */
  public String text() {
    return text;
  }

  /** Where it is written. */
  public String source() {
    return source;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Rule && ((Rule) o).text.equals(text) && ((Rule) o).source.equals(source);
  }

  @Override
  public int hashCode() {
    return Objects.hash(text, source);
  }

  @Override
  public String toString() {
    return text + " [" + source + "]";
  }
}
