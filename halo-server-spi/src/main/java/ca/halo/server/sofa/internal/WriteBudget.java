package ca.halo.server.sofa.internal;

import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.LaunchContextStore.WriteCharge;
import java.time.Clock;

/**
 * What one launch session may write after launch: at most {@code maxBytes} of request bodies
 * (creates and updates) and {@code maxResources} created resources. Past either, a write is
 * refused with 413 and an OperationOutcome that names the budget. The count is kept by the
 * {@link LaunchContextStore} with the context ({@link LaunchContextStore#chargeWrite}), so it
 * holds across nodes and ends with the context.
 *
 * <p>Thread-safe.
 */
public final class WriteBudget {
  private final LaunchContextStore contexts;
  private final Clock clock;
  private final long maxBytes;
  private final long maxResources;

  public WriteBudget(LaunchContextStore contexts, Clock clock, long maxBytes, long maxResources) {
    this.contexts = contexts;
    this.clock = clock;
    this.maxBytes = maxBytes;
    this.maxResources = maxResources;
  }

  /**
   * Charges a write, or refuses it: 413 when it would pass the session's budget, 401 when the
   * session has ended.
   */
  public void charge(String session, long bytes, int resources) {
    WriteCharge c = contexts.chargeWrite(session, bytes, resources, maxBytes, maxResources,
        clock.instant());
    if (c == WriteCharge.OVER_BUDGET) {
      throw Errors.of(413, "", "this launch has used its write budget (" + maxBytes
          + " bytes, " + maxResources + " new resources); nothing was stored");
    }
    if (c == WriteCharge.NO_SESSION) {
      throw Errors.of(401, "", "the launch this token belongs to has ended");
    }
  }

  /** Gives back a charge whose write failed. */
  public void refund(String session, long bytes, int resources) {
    contexts.refundWrite(session, bytes, resources);
  }
}
