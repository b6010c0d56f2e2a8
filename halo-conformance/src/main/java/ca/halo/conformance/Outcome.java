package ca.halo.conformance;

/** What became of one check. */
public enum Outcome {
  /** The implementation did what the rule asks. */
  PASS,
  /** The implementation broke the rule; the result says what was sent and received. */
  FAIL,
  /** Not run, with the reason (a capability not advertised, an input not given, a check it needs failed). */
  SKIP
}
