package ca.halo.conformance.internal;

/** Thrown inside a check when the implementation broke the rule. */
public final class CheckFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckFailure(String message) {
    super(message, null, false, false);
  }
}
