package ca.halo.sofaserver.config.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * "Did you mean" for an unknown key or environment variable: compares the words of the names
 * ({@code publicBaseUrl} is public, base, url; {@code HALO_STORE_POSTGRES_JDBC_URL} is halo,
 * store, postgres, jdbc, url), each word allowed a small typo, and suggests a name only when one
 * candidate is clearly closest.
 */
public final class Suggestions {
  private Suggestions() {}

  /** The one candidate close to {@code unknown}, if there is one. */
  public static Optional<String> closest(String unknown, Collection<String> candidates) {
    List<String> words = words(unknown);
    String best = null;
    int[] bestScore = null;
    boolean tie = false;
    for (String c : candidates) {
      List<String> cw = words(c);
      int matched = 0;
      for (String w : words) {
        if (cw.stream().anyMatch(x -> similar(w, x))) {
          matched++;
        }
      }
      int spare = 0;
      for (String x : cw) {
        if (words.stream().noneMatch(w -> similar(w, x))) {
          spare++;
        }
      }
      int whole = distance(unknown.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
      boolean close = whole <= 2 || (matched * 10 >= words.size() * 6 && spare <= 2);
      if (!close) {
        continue;
      }
      // more words matched first, then fewer extra words, then the smaller edit distance
      int[] score = {matched, -spare, -whole};
      int cmp = bestScore == null ? 1 : compare(score, bestScore);
      if (cmp > 0) {
        best = c;
        bestScore = score;
        tie = false;
      } else if (cmp == 0) {
        tie = true;
      }
    }
    return tie ? Optional.empty() : Optional.ofNullable(best);
  }

  private static int compare(int[] a, int[] b) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] != b[i]) {
        return Integer.compare(a[i], b[i]);
      }
    }
    return 0;
  }

  private static boolean similar(String a, String b) {
    if (a.equals(b)) {
      return true;
    }
    int shorter = Math.min(a.length(), b.length());
    if (shorter >= 3 && (a.startsWith(b) || b.startsWith(a))
        && Math.abs(a.length() - b.length()) <= 2) {
      return true;
    }
    int allowed = shorter >= 7 ? 2 : shorter >= 4 ? 1 : 0;
    return distance(a, b) <= allowed;
  }

  /** Words of a camelCase, snake_case or dotted name, lower case. */
  static List<String> words(String name) {
    List<String> out = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    char prev = 0;
    for (char ch : name.toCharArray()) {
      if (ch == '_' || ch == '.' || ch == '-' || ch == ' ') {
        flush(w, out);
      } else {
        if (Character.isUpperCase(ch) && Character.isLowerCase(prev)) {
          flush(w, out);
        }
        w.append(Character.toLowerCase(ch));
      }
      prev = ch;
    }
    flush(w, out);
    return out;
  }

  private static void flush(StringBuilder w, List<String> out) {
    if (w.length() > 0) {
      out.add(w.toString());
      w.setLength(0);
    }
  }

  /** Edit distance with adjacent transpositions (optimal string alignment). */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
