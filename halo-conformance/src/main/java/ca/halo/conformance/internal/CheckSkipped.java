package ca.halo.conformance.internal;

/** Thrown inside a check that cannot run here, with the reason. */
public final class CheckSkipped extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckSkipped(String reason) {
    super(reason, null, false, false);
  }
}
