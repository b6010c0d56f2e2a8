package ca.halo.server.postgres;

import java.time.Instant;
import org.jdbi.v3.core.Handle;

/**
 * One kind of row {@link PostgresPurger} deletes: rows no caller needs any more at {@code now}
 * (expired entries, events past their retention). Called repeatedly, each time in a transaction
 * of its own that holds the purge lock, until it deletes fewer than {@code limit} rows.
 *
 * <pre>{@code
 * PurgeTask oldEvents = (h, now, limit) -> h.createUpdate(
 *     "DELETE FROM my_event WHERE id IN (SELECT id FROM my_event WHERE expires_at <= :now"
 *         + " LIMIT :limit FOR UPDATE SKIP LOCKED)")
 *     .bind("now", now.atOffset(ZoneOffset.UTC)).bind("limit", limit).execute();
 * }</pre>
 *
 * <p>Implementations delete at most {@code limit} rows per call and must not commit or roll back
 * the handle's transaction.
 */
@FunctionalInterface
public interface PurgeTask {
  /** Deletes at most {@code limit} rows that no one needs at {@code now}; returns how many. */
  int purge(Handle handle, Instant now, int limit);
}
