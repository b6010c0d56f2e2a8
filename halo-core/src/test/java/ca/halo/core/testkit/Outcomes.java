package ca.halo.core.testkit;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.opentest4j.AssertionFailedError;

/**
 * Runs one try of a property within a time bound and checks that it either succeeds or fails only
 * with one of the allowed (typed) exceptions.
 *
 * <pre>{@code
 * Outcomes.onlyTyped(Duration.ofSeconds(1), () -> SmartConfiguration.parse(m.text()),
 *     HaloParseException.class);
 * }</pre>
 */
public final class Outcomes {
  /** The default bound of one try of a pure parser. */
  public static final Duration PARSE_BOUND = Duration.ofSeconds(2);

  private Outcomes() {}

  /** What one try ended with: a value or a typed exception. */
  public static final class Outcome<T> {
    private final T value;
    private final Throwable error;

    Outcome(T value, Throwable error) {
      this.value = value;
      this.error = error;
    }

    public boolean succeeded() {
      return error == null;
    }

    public T value() {
      if (error != null) {
        throw new IllegalStateException("the try failed", error);
      }
      return value;
    }

    public Throwable error() {
      return error;
    }

    @Override
    public String toString() {
      return error == null ? "ok" : error.getClass().getSimpleName() + ": " + error.getMessage();
    }
  }

  /**
   * Runs {@code call} on a separate thread, gives up after {@code bound}, and fails the try unless
   * it returned or threw one of {@code allowed}.
   */
  @SafeVarargs
  public static <T> Outcome<T> onlyTyped(Duration bound, Callable<T> call,
      Class<? extends Throwable>... allowed) {
    List<Class<? extends Throwable>> kinds = new ArrayList<>();
    for (Class<? extends Throwable> a : allowed) {
      kinds.add(a);
    }
    return assertTimeoutPreemptively(bound, () -> {
      try {
        return new Outcome<>(call.call(), null);
      } catch (Throwable t) {
        for (Class<? extends Throwable> a : kinds) {
          if (a.isInstance(t)) {
            return new Outcome<T>(null, t);
          }
        }
        throw new AssertionFailedError("expected success or one of "
            + kinds.stream().map(Class::getSimpleName).toList() + " but got "
            + t.getClass().getName() + ": " + Abbrev.of(String.valueOf(t.getMessage()), 300), t);
      }
    }, () -> "no answer within " + bound + " (a hang or runaway work)");
  }
}
