package ca.halo.examples.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time of a process's threads, grouped by thread name with the digits taken out (Jetty's
 * {@code qtp123-45} and {@code qtp123-46} are one group, {@code GC Thread#0} and {@code #1}
 * another), read from Linux's {@code /proc/<pid>/task/<tid>/stat}. Benchmark only: it says which
 * threads a process's CPU per request went to, which the process total does not. Empty where
 * {@code /proc} is not there. Read per thread: a thread that started between two readings counts
 * whole, and one that ended between them is not counted (a thread pool's idle threads come and
 * go, so grouping first would subtract a whole thread's past from its group).
 */
final class ThreadCpu {

  /** Clock ticks a second in {@code /proc}'s times (USER_HZ, 100 on Linux). */
  private static final double TICKS_PER_SECOND = 100;

  /** Per thread id: its group and its CPU ticks so far. */
  private final Map<String, Map.Entry<String, Long>> ticks;

  private ThreadCpu(Map<String, Map.Entry<String, Long>> ticks) {
    this.ticks = ticks;
  }

  static ThreadCpu of(long pid) {
    Map<String, Map.Entry<String, Long>> ticks = new HashMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    if (Files.isDirectory(tasks)) {
      try (Stream<Path> all = Files.list(tasks)) {
        all.forEach(t -> {
          try {
            String stat = Files.readString(t.resolve("stat"), StandardCharsets.US_ASCII);
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            String name = stat.substring(open + 1, close).replaceAll("[0-9]+", "#");
            // after ") ": state is field 3; utime and stime are fields 14 and 15
            String[] f = stat.substring(close + 2).split(" ");
            long used = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            ticks.put(t.getFileName().toString(), Map.entry(name, used));
          } catch (IOException | RuntimeException gone) {
            // the thread ended while we read
          }
        });
      } catch (IOException ignored) {
        // the process ended
      }
    }
    return new ThreadCpu(ticks);
  }

  /**
   * The groups that used CPU between {@code before} and this reading, most first: at most {@code
   * top} of them as {@code name ms}, in milliseconds per request, and the rest summed.
   */
  String perRequestSince(ThreadCpu before, int requests, int top) {
    if (ticks.isEmpty()) {
      return "n/a";
    }
    Map<String, Long> byGroup = new HashMap<>();
    for (Map.Entry<String, Map.Entry<String, Long>> e : ticks.entrySet()) {
      Map.Entry<String, Long> was = before.ticks.get(e.getKey());
      // by thread id, not name: OkHttp's task threads take the name of the task they run, so a
      // name can change between readings; a thread id given again to a new thread (fewer ticks
      // than before) counts from zero
      long d = e.getValue().getValue() - (was != null && was.getValue() <= e.getValue().getValue()
          ? was.getValue() : 0L);
      if (d > 0) {
        byGroup.merge(e.getValue().getKey(), d, Long::sum);
      }
    }
    List<Map.Entry<String, Long>> used = new ArrayList<>(byGroup.entrySet());
    used.sort(Map.Entry.<String, Long>comparingByValue().reversed());
    StringBuilder out = new StringBuilder();
    long rest = 0;
    for (int i = 0; i < used.size(); i++) {
      if (i < top) {
        out.append(i == 0 ? "" : ", ").append(used.get(i).getKey()).append(' ')
            .append(ms(used.get(i).getValue(), requests));
      } else {
        rest += used.get(i).getValue();
      }
    }
    if (rest > 0) {
      out.append(", others ").append(ms(rest, requests));
    }
    return out.length() == 0 ? "none" : out.toString();
  }

  private static String ms(long ticks, int requests) {
    return String.format(Locale.ROOT, "%.2f", ticks / TICKS_PER_SECOND * 1000 / requests);
  }
}
