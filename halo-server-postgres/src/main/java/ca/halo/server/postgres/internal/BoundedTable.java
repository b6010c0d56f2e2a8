package ca.halo.server.postgres.internal;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToIntFunction;
import org.jdbi.v3.core.Handle;

/**
 * A table whose rows are counted in {@code halo_row_count} (by the triggers of migration V1), in
 * total and per owner, and bounded: at most {@code capacity} rows, at most {@code shareOf(owner)}
 * per owner. A store writes a row and then calls {@link #check} in the same transaction: the
 * trigger has already counted the row and holds the counter rows locked until the commit, so the
 * check sees exact counts and no concurrent writer (on any node) can pass the bound with it. A
 * check that fails throws {@link Refused}; the store rolls back, deletes expired rows in the way
 * ({@link #deleteExpired}) and tries once more, as the in-memory tables do.
 */
public final class BoundedTable {
  private final String name;
  private final String key;
  private final int capacity;
  private final ToIntFunction<String> shareOf;

  /**
   * @param key the primary key column(s), e.g. {@code "code_hash"} or {@code "client_id, jti"}
   */
  public BoundedTable(String name, String key, int capacity, ToIntFunction<String> shareOf) {
    this.name = Objects.requireNonNull(name);
    this.key = Objects.requireNonNull(key);
    this.capacity = capacity;
    this.shareOf = Objects.requireNonNull(shareOf);
  }

  public String name() {
    return name;
  }

  /** A bound that a write passed; the transaction must roll back. */
  public static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient BoundedTable table;
    private final String owner;

    Refused(BoundedTable table, String owner) {
      super("bound of " + table.name + " reached", null, false, false);
      this.table = table;
      this.owner = owner;
    }

    /** The table was full (rather than one owner's share). */
    public boolean full() {
      return owner.isEmpty();
    }

    /** Deletes expired rows that hold this bound: the owner's, or the table's. */
    public int makeRoom(Handle h, Instant now, int limit) {
      return table.deleteExpired(h, full() ? null : owner, now, limit);
    }
  }

  /**
   * After a write that added a row held by {@code owners}: throws {@link Refused} if the table or
   * an owner is now past its bound.
   */
  public void check(Handle h, List<String> owners) {
    Map<String, Long> n = new HashMap<>();
    h.createQuery("SELECT owner, n FROM halo_row_count WHERE tbl = :t"
            + " AND (owner = '' OR owner = ANY(CAST(:owners AS text[])))")
        .bind("t", name).bindArray("owners", String.class, owners)
        .map((rs, ctx) -> Map.entry(rs.getString("owner"), rs.getLong("n")))
        .forEach(e -> n.put(e.getKey(), e.getValue()));
    if (n.getOrDefault("", 0L) > capacity) {
      throw new Refused(this, "");
    }
    for (String o : owners) {
      if (n.getOrDefault(o, 0L) > shareOf.applyAsInt(o)) {
        throw new Refused(this, o);
      }
    }
  }

  /** Deletes the row of this key if it has expired (so that the key may be written afresh). */
  public void deleteExpiredKey(Handle h, String where, Map<String, ?> keys, Instant now) {
    var u = h.createUpdate("DELETE FROM " + name + " WHERE " + where + " AND expires_at <= :now")
        .bind("now", Sql.at(now));
    keys.forEach(u::bind);
    u.execute();
  }

  /**
   * Deletes at most {@code limit} rows expired at {@code now}, of {@code owner} or (null) of any
   * owner, skipping rows another transaction holds. Returns how many.
   */
  public int deleteExpired(Handle h, String owner, Instant now, int limit) {
    return deleteExpired(h, name, key, owner, now, limit);
  }

  /**
   * Deletes at most {@code limit} rows of {@code table} (primary key {@code key}) expired at
   * {@code now}, of {@code owner} or (null) of any owner, skipping rows another transaction
   * holds. Returns how many.
   */
  public static int deleteExpired(Handle h, String table, String key, String owner, Instant now,
      int limit) {
    String ownerFilter = owner == null ? "" : " AND owners @> ARRAY[CAST(:owner AS text)]";
    var u = h.createUpdate("DELETE FROM " + table + " WHERE (" + key + ") IN (SELECT " + key
            + " FROM " + table + " WHERE expires_at <= :now" + ownerFilter
            + " ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)")
        .bind("now", Sql.at(now)).bind("limit", limit);
    if (owner != null) {
      u.bind("owner", owner);
    }
    return u.execute();
  }

  /** Rows held (expired ones not yet deleted included). */
  public long count(Handle h) {
    return count(h, name);
  }

  /** Rows held by a counted table, read from its counter row. */
  public static long count(Handle h, String table) {
    return h.createQuery("SELECT n FROM halo_row_count WHERE tbl = :t AND owner = ''")
        .bind("t", table).mapTo(Long.class).findOne().orElse(0L);
  }

  @Override
  public String toString() {
    return "BoundedTable{" + name + ", capacity=" + capacity + "}";
  }
}
