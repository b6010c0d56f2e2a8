package ca.halo.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The performance targets, each figure of the run printed beside its target. A target against
 * another server (HAPI FHIR JPA, Keycloak, the SMART reference launcher) is a ratio measured in the
 * same run when that server's address is given ({@code --hapi-jpa}, {@code --keycloak},
 * {@code --launcher}); without
 * it the line says so and shows the ratio to a reading of that server on this kind of machine
 * (given with the target), marked as such.
 */
final class Targets {
  private record Line(String name, String figure, String target, String verdict) {}

  private final List<Line> lines = new ArrayList<>();

  synchronized void ratio(String name, double value, String op, double limit) {
    add(name, fmt(value) + "x", op + " " + fmt(limit) + "x", verdict(value, op, limit));
  }

  synchronized void absolute(String name, double value, String op, double limit) {
    add(name, fmt(value), op + " " + fmt(limit), verdict(value, op, limit));
  }

  /**
   * Ours against another server's figure: {@code ours / theirs op factor}. {@code theirs} is NaN
   * when it was not measured in this run, and then {@code reading} (that server's figure read on
   * this kind of machine, from the issue that set the target) stands in, marked as such.
   */
  synchronized void against(String name, double ours, double theirs, double reading, String op,
      double factor, String unit) {
    boolean measured = !Double.isNaN(theirs);
    double base = measured ? theirs : reading;
    double r = ours / base;
    String figure = fmt(ours) + " " + unit + " vs " + fmt(base) + " " + unit + " = " + fmt(r) + "x";
    add(name, figure, op + " " + fmt(factor) + "x",
        verdict(r, op, factor) + (measured ? "" : " (other server not run here: its earlier reading)"));
  }

  /** A figure printed among the targets to read them by, with no target of its own. */
  synchronized void context(String name, String figure) {
    add(name, figure, "", "(for context)");
  }

  private void add(String name, String figure, String target, String verdict) {
    lines.add(new Line(name, figure, target, verdict));
  }

  private static String verdict(double v, String op, double limit) {
    if (Double.isNaN(v)) {
      return "not measured";
    }
    boolean met = switch (op) {
      case "<=" -> v <= limit;
      case "<" -> v < limit;
      case ">=" -> v >= limit;
      default -> throw new IllegalArgumentException(op);
    };
    return met ? "MET" : "MISSED";
  }

  private static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v)
        : Math.abs(v) >= 10 ? String.format(Locale.ROOT, "%.1f", v)
        : String.format(Locale.ROOT, "%.2f", v);
  }

  synchronized void print() {
    if (lines.isEmpty()) {
      return;
    }
    System.out.println("\nTargets (figure of this run | target | verdict):");
    for (Line l : lines) {
      System.out.printf("  %-72s %-34s %-10s %s%n", l.name(), l.figure(), l.target(), l.verdict());
    }
  }
}
