package ca.halo.server.postgres;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What one {@link PostgresPurger#purgeNow()} did: rows deleted per task, and whether it ran at all
 * (it does not when another node is purging at that moment).
 *
 * <p>Immutable and thread-safe.
 */
public final class PurgeReport {
  private final boolean ran;
  private final Map<String, Integer> deleted;

  PurgeReport(boolean ran, Map<String, Integer> deleted) {
    this.ran = ran;
    this.deleted = Collections.unmodifiableMap(new LinkedHashMap<>(deleted));
  }

  /** False when another node held the purge lock, so this run deleted nothing. */
  public boolean ran() {
    return ran;
  }

  /** Rows deleted per task name, in task order (tasks not reached are absent). */
  public Map<String, Integer> deleted() {
    return deleted;
  }

  /** Rows deleted by every task. */
  public int total() {
    return deleted.values().stream().mapToInt(Integer::intValue).sum();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PurgeReport && ((PurgeReport) o).ran == ran
        && ((PurgeReport) o).deleted.equals(deleted);
  }

  @Override
  public int hashCode() {
    return Objects.hash(ran, deleted);
  }

  @Override
  public String toString() {
    return "PurgeReport{ran=" + ran + ", deleted=" + deleted + "}";
  }
}
