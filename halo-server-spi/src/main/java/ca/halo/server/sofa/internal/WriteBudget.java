package ca.halo.server.sofa.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one launch session may write after launch: at most {@code maxBytes} of request bodies
 * (creates and updates) and {@code maxResources} created resources. Past either, a write is
 * refused with 413 and an OperationOutcome that names the budget. Entries go when the session
 * ends ({@link #forget(String)}), so the table is bounded by the live contexts.
 *
 * <p>Thread-safe; the check and the charge are one atomic step. Per node: several nodes each
 * hold their own count.
 */
public final class WriteBudget {
  private final long maxBytes;
  private final long maxResources;
  private final Map<String, long[]> used = new ConcurrentHashMap<>();

  public WriteBudget(long maxBytes, long maxResources) {
    this.maxBytes = maxBytes;
    this.maxResources = maxResources;
  }

  /** Charges a write, or refuses it (413) when it would pass the session's budget. */
  public void charge(String session, long bytes, int resources) {
    boolean[] ok = {false};
    used.compute(session, (k, u) -> {
      long[] n = u == null ? new long[2] : u;
      if (n[0] + bytes <= maxBytes && n[1] + resources <= maxResources) {
        n[0] += bytes;
        n[1] += resources;
        ok[0] = true;
      }
      return n;
    });
    if (!ok[0]) {
      throw Errors.of(413, "", "this launch has used its write budget (" + maxBytes
          + " bytes, " + maxResources + " new resources); nothing was stored");
    }
  }

  /** Gives back a charge whose write failed. */
  public void refund(String session, long bytes, int resources) {
    used.computeIfPresent(session, (k, n) -> {
      n[0] = Math.max(0, n[0] - bytes);
      n[1] = Math.max(0, n[1] - resources);
      return n;
    });
  }

  /** The session ended. */
  public void forget(String session) {
    used.remove(session);
  }

  int size() {
    return used.size();
  }
}
