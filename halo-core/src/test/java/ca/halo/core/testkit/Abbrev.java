package ca.halo.core.testkit;

/** Shortens long text for test reports, escaping control characters. */
public final class Abbrev {
  private Abbrev() {}

  public static String of(String s, int max) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder();
    int n = Math.min(s.length(), max);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c < 0xa0) || Character.isSurrogate(c) || c == '\ufffd') {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (s.length() > max) {
      b.append("...(").append(s.length() - max).append(" more chars)");
    }
    return b.toString();
  }
}
