package ca.halo.examples.bench;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;

/**
 * Latency samples (nanoseconds) in an HdrHistogram: 3 significant digits from 1 µs to 1 hour, so
 * p99.9 and the maximum are exact to 0.1 % whatever the run's length, in constant memory. A
 * histogram travels between JVMs (the forked load client) as compressed Base64.
 */
final class Stats {
  private final Histogram h = new Histogram(1_000L, 3_600_000_000_000L, 3);

  synchronized void add(long nanos) {
    h.recordValue(Math.max(1_000L, Math.min(nanos, h.getHighestTrackableValue())));
  }

  synchronized void add(Stats other) {
    synchronized (other) {
      h.add(other.h);
    }
  }

  synchronized long count() {
    return h.getTotalCount();
  }

  synchronized double percentileMillis(double p) {
    if (h.getTotalCount() == 0) {
      return Double.NaN;
    }
    return (p >= 100 ? h.getMaxValue() : h.getValueAtPercentile(p)) / 1e6;
  }

  synchronized double maxMillis() {
    return h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1e6;
  }

  /** p50, p90, p99, p99.9 and max in milliseconds, one line. */
  String summary() {
    return String.format("p50 %7.2f  p90 %7.2f  p99 %7.2f  p99.9 %7.2f  max %7.2f ms",
        percentileMillis(50), percentileMillis(90), percentileMillis(99), percentileMillis(99.9),
        maxMillis());
  }

  synchronized String encode() {
    ByteBuffer b = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(b);
    return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b.array(), n));
  }

  static Stats decode(String base64) {
    try {
      Stats s = new Stats();
      s.h.add(Histogram.decodeFromCompressedByteBuffer(
          ByteBuffer.wrap(Base64.getDecoder().decode(base64)), 0));
      return s;
    } catch (DataFormatException e) {
      throw new IllegalArgumentException("not an encoded histogram", e);
    }
  }
}
