package ca.halo.sofaserver.config.internal;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations ({@code 30s}, {@code 5m}, {@code 8h}, {@code 365d}, {@code PT30S}) and sizes ({@code 65536}, {@code 64KiB}, {@code 10MiB}). */
public final class Units {
  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*(B|KiB|MiB|GiB|KB|MB|GB)?");

  private Units() {}

  /**
   * Parses a duration.
   *
   * @throws IllegalArgumentException with what the value should look like
   */
  public static Duration duration(String text) {
    String t = text.trim();
    Matcher m = SHORT_DURATION.matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms": return Duration.ofMillis(n);
        case "s": return Duration.ofSeconds(n);
        case "m": return Duration.ofMinutes(n);
        case "h": return Duration.ofHours(n);
        default: return Duration.ofDays(n);
      }
    }
    if (t.toUpperCase(Locale.ROOT).startsWith("P")) {
      try {
        return Duration.parse(t.toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        // fall through to the message below
      }
    }
    throw new IllegalArgumentException("'" + text + "' is not a duration (use 30s, 5m, 8h, 365d"
        + " or ISO-8601 such as PT30S)");
  }

  /**
   * Parses a size in bytes.
   *
   * @throws IllegalArgumentException with what the value should look like
   */
  public static long size(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "B" : m.group(2);
      long factor;
      switch (unit) {
        case "KiB": factor = 1L << 10; break;
        case "MiB": factor = 1L << 20; break;
        case "GiB": factor = 1L << 30; break;
        case "KB": factor = 1_000L; break;
        case "MB": factor = 1_000_000L; break;
        case "GB": factor = 1_000_000_000L; break;
        default: factor = 1;
      }
      try {
        return Math.multiplyExact(n, factor);
      } catch (ArithmeticException e) {
        // fall through
      }
    }
    throw new IllegalArgumentException("'" + text + "' is not a size (use a number of bytes, or"
        + " 64KiB, 10MiB, 1GiB)");
  }
}
