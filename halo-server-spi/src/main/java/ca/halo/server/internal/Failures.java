package ca.halo.server.internal;

import java.sql.SQLException;
import java.sql.SQLTransientException;

/** What a failure of a store means to the caller of an endpoint. */
public final class Failures {
  private Failures() {}

  /**
   * Whether the failure says a store is out of reach for now (no connection, a pool exhausted, a
   * database shutting down or out of resources) rather than that the request or the code is
   * wrong: the caller should retry later (503).
   */
  public static boolean unavailable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientException) {
        return true;
      }
      if (t instanceof SQLException) {
        String s = ((SQLException) t).getSQLState();
        if (s != null && (s.startsWith("08") || s.startsWith("53") || s.startsWith("57P"))) {
          return true;
        }
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }
}
