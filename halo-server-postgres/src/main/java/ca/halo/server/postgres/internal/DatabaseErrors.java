package ca.halo.server.postgres.internal;

import java.sql.SQLException;
import java.sql.SQLTransientException;
import org.jdbi.v3.core.ConnectionException;

/** Reads what a database failure means to a caller. */
public final class DatabaseErrors {
  private DatabaseErrors() {}

  /** The SQLSTATE of the first {@link SQLException} in the chain, or "". */
  public static String state(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException && ((SQLException) t).getSQLState() != null) {
        return ((SQLException) t).getSQLState();
      }
    }
    return "";
  }

  /**
   * Whether it says the database is out of reach for now (no connection, pool exhausted, shut
   * down, out of resources) rather than that the statement is wrong: a caller retries later (503).
   */
  public static boolean unavailable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConnectionException || t instanceof SQLTransientException) {
        return true;
      }
    }
    String s = state(e);
    return s.startsWith("08") || s.startsWith("53") || s.startsWith("57P");
  }
}
