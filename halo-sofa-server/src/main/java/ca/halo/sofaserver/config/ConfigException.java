package ca.halo.sofaserver.config;

import java.util.List;
import java.util.Objects;

/**
 * The configuration cannot be used: every problem found, each naming where it came from (the
 * file or the environment variable) and the key, e.g.
 * {@code sofa.yaml: store.postgres.jdbcUrl: required when store.type is postgres}.
 *
 * <p>Thrown by {@link SofaConfigLoader#load} with all problems of a file at once, and by
 * {@code SofaApplication.start} when a configured resource turns out unusable at start-up (an
 * unreachable database, an upstream identity provider that does not answer). The message is
 * meant for the operator as is: one problem per line, no stack trace needed.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  /** One exception for {@code problems} (at least one). */
  public ConfigException(List<String> problems) {
    super(String.join(System.lineSeparator(), requireSome(problems)));
    this.problems = List.copyOf(problems);
  }

  /** One problem, with its cause kept for the logs. */
  public ConfigException(String problem, Throwable cause) {
    super(Objects.requireNonNull(problem, "problem"), cause);
    this.problems = List.of(problem);
  }

  /** One problem. */
  public static ConfigException of(String problem) {
    return new ConfigException(List.of(problem));
  }

  /** Every problem, one line each, in the order they were found. */
  public List<String> problems() {
    return problems;
  }

  private static List<String> requireSome(List<String> problems) {
    if (problems == null || problems.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one problem");
    }
    return problems;
  }
}
