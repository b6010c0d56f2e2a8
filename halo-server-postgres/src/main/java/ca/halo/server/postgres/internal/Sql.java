package ca.halo.server.postgres.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Conversions between Java values and the columns of this module's tables. PostgreSQL keeps
 * {@code timestamptz} to the microsecond: a moment "now" is rounded down and an expiry ("until")
 * up, so that an entry is never judged expired before its own instant.
 */
public final class Sql {
  private Sql() {}

  /** {@code now} as a {@code timestamptz} parameter, rounded down to the microsecond; null stays null. */
  public static OffsetDateTime at(Instant now) {
    return now == null ? null : OffsetDateTime.ofInstant(now.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
  }

  /** An expiry as a {@code timestamptz} parameter, rounded up to the microsecond. */
  public static OffsetDateTime until(Instant until) {
    Instant down = until.truncatedTo(ChronoUnit.MICROS);
    return OffsetDateTime.ofInstant(down.equals(until) ? down : down.plus(1, ChronoUnit.MICROS),
        ZoneOffset.UTC);
  }

  public static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  public static List<String> strings(ResultSet rs, String column) throws SQLException {
    Array a = rs.getArray(column);
    if (a == null) {
      return List.of();
    }
    try {
      return new ArrayList<>(Arrays.asList((String[]) a.getArray()));
    } finally {
      a.free();
    }
  }

  /**
   * The SHA-256 of a secret that is only ever looked up (a code, a sign-in id, an SSO session),
   * base64url: what the database keeps instead of the secret.
   */
  public static String hash(String secret) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** {@code s} without NUL characters (PostgreSQL text cannot hold them), cut to {@code max}. */
  public static String text(String s, int max) {
    if (s == null) {
      return null;
    }
    String t = s.indexOf('\u0000') >= 0 ? s.replace('\u0000', '\uFFFD') : s;
    return t.length() > max ? t.substring(0, max) : t;
  }

  /**
   * Whether no key holds a NUL character. PostgreSQL text cannot hold one, so a key that does
   * names no row: a lookup answers "not found" without asking the database (which would refuse
   * the statement).
   */
  public static boolean storable(String... keys) {
    for (String k : keys) {
      if (k != null && k.indexOf('\u0000') >= 0) {
        return false;
      }
    }
    return true;
  }
}
