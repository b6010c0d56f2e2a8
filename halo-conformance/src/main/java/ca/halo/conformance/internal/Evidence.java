package ca.halo.conformance.internal;

import java.util.ArrayList;
import java.util.List;

/** The exchanges the running check has made, collected per thread. */
public final class Evidence {
  private static final ThreadLocal<List<String>> CURRENT = ThreadLocal.withInitial(ArrayList::new);

  private Evidence() {}

  /** Starts a fresh collection for the check about to run on this thread. */
  public static void begin() {
    CURRENT.set(new ArrayList<>());
  }

  /** What was collected since {@link #begin()}. */
  public static List<String> end() {
    List<String> out = CURRENT.get();
    CURRENT.set(new ArrayList<>());
    return out;
  }

  /** Adds one (already redacted) exchange or note. */
  public static void add(String exchange) {
    List<String> l = CURRENT.get();
    if (l.size() < 40) {
      l.add(Redact.values(exchange));
    }
  }
}
