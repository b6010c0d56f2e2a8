package ca.halo.server.postgres;

import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.AuthorizationGrant;
import ca.halo.server.authz.AuthorizationStateStore;
import ca.halo.server.authz.PendingSignIn;
import ca.halo.server.postgres.internal.BoundedTable;
import ca.halo.server.postgres.internal.BoundedTable.Refused;
import ca.halo.server.postgres.internal.Sql;
import ca.halo.server.postgres.internal.StateJson;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link AuthorizationStateStore} of a SoFA that runs on several nodes: every sign-in, code,
 * grant, revocation and assertion id in PostgreSQL, shared by all nodes and kept across restarts.
 *
 * <pre>{@code
 * AuthorizationStateStore store = PostgresAuthorizationStateStore.builder(database)
 *     .clock(clock).capacity(100_000).build();
 * SofaServer.builder()...authorizationStore(store)...
 * }</pre>
 *
 * <p>Atomicity comes from the database, never from a check in Java followed by a write: a code is
 * redeemed under {@code SELECT ... FOR UPDATE} of its row (so exactly one caller starts its grant
 * and a replay ends it), a refresh token rotates by {@code UPDATE ... WHERE refresh_hash = ?}
 * (one winner; a loser finds the old token among the prior ones and ends the grant), an attempt
 * counts by {@code UPDATE ... RETURNING}, a sign-in ends by {@code DELETE ... RETURNING}, and an
 * assertion {@code jti} by {@code INSERT ... ON CONFLICT DO NOTHING}.
 *
 * <p>Bounds, as {@link ca.halo.server.authz.InMemoryAuthorizationStateStore}: each table holds at
 * most {@code capacity} rows; an address at most {@code maxPendingSignInsPerAddress} pending
 * sign-ins and a client half the table; a user, client or address at most {@code maxPerOwner}
 * rows of the tables its requests fill. Rows are counted by database triggers in the writing
 * transaction (see {@code V1__contexts_authorization_audit.sql}); a write past a bound is rolled
 * back and reported ({@link Admission#LIMITED}, {@link Admission#FULL}, {@code false}), after
 * expired rows in the way were deleted and the write tried once more. Nothing is evicted.
 *
 * <p>Expiry is judged by the injected clock (not the database's): nodes should keep their clocks
 * in step (NTP). Expired rows are invisible at once and deleted by {@link PostgresPurger}.
 * Authorization codes, sign-in ids, SSO session ids and typed user names are stored as SHA-256
 * hashes; refresh tokens arrive hashed. Nothing here logs a secret.
 *
 * <p>Thread-safe, and safe for any number of nodes on one database.
 */
public final class PostgresAuthorizationStateStore implements AuthorizationStateStore {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresAuthorizationStateStore.class);
  /** Refresh tokens a grant remembers having had, to recognise a replay of an old one. */
  static final int PRIOR_REFRESH_TOKENS = 32;
  /** Expired rows deleted at most when a bound is reached, before the one retry. */
  private static final int MAKE_ROOM = 1_000;

  static final String SIGN_INS = "halo_authz_sign_in";
  static final String ACCOUNT_ATTEMPTS = "halo_authz_account_attempt";
  static final String SSO = "halo_authz_sso_session";
  static final String CODES = "halo_authz_code";
  static final String GRANTS = "halo_authz_grant";
  static final String REVOKED = "halo_authz_revoked_token";
  static final String ASSERTION_JTIS = "halo_authz_assertion_jti";

  private final Jdbi jdbi;
  private final Clock clock;
  private final int capacity;
  private final BoundedTable signIns;
  private final BoundedTable accountAttempts;
  private final BoundedTable sso;
  private final BoundedTable codes;
  private final BoundedTable grants;
  private final BoundedTable revoked;
  private final BoundedTable assertionJtis;

  private PostgresAuthorizationStateStore(Builder b) {
    this.jdbi = b.database.jdbi();
    this.clock = b.clock;
    this.capacity = b.capacity;
    int perOwner = b.maxPerOwner > 0 ? b.maxPerOwner : Math.max(1, capacity / 10);
    int perAddress = b.maxPendingSignInsPerAddress;
    int perClientSignIns = Math.max(1, capacity / 2);
    this.signIns = new BoundedTable(SIGN_INS, "id_hash", capacity,
        o -> o.startsWith("address:") ? perAddress : perClientSignIns);
    this.accountAttempts = new BoundedTable(ACCOUNT_ATTEMPTS, "account_hash", capacity, o -> perOwner);
    this.sso = new BoundedTable(SSO, "session_hash", capacity, o -> perOwner);
    this.codes = new BoundedTable(CODES, "code_hash", capacity, o -> perOwner);
    this.grants = new BoundedTable(GRANTS, "grant_id", capacity, o -> perOwner);
    this.revoked = new BoundedTable(REVOKED, "jti", capacity, o -> perOwner);
    this.assertionJtis = new BoundedTable(ASSERTION_JTIS, "client_id, jti", capacity, o -> perOwner);
  }

  public static Builder builder(PostgresDatabase database) {
    return new Builder(database);
  }

  /** The tables of this store, each as {@code table -> key column(s)}, for {@link PostgresPurger}. */
  static Map<String, String> tables() {
    return Map.of(SIGN_INS, "id_hash", ACCOUNT_ATTEMPTS, "account_hash", SSO, "session_hash",
        CODES, "code_hash", GRANTS, "grant_id", REVOKED, "jti", ASSERTION_JTIS, "client_id, jti");
  }

  /**
   * Runs {@code write} in one transaction; if it passes a bound, deletes expired rows in the way
   * and runs it once more; if that passes a bound too, answers {@code refused(full)}.
   */
  private <R> R bounded(Instant now, Function<Boolean, R> refused, HandleCallback<R, RuntimeException> write) {
    for (int attempt = 0; ; attempt++) {
      try {
        return jdbi.inTransaction(write);
      } catch (Refused r) {
        if (attempt > 0) {
          LOG.debug("authorization state write refused: {}", r.getMessage());
          return refused.apply(r.full());
        }
        int freed = jdbi.inTransaction(h -> r.makeRoom(h, now, MAKE_ROOM));
        LOG.debug("{}; deleted {} expired row(s) and trying once more", r.getMessage(), freed);
      }
    }
  }

  private static Admission limitedOrFull(boolean full) {
    return full ? Admission.FULL : Admission.LIMITED;
  }

  private static List<String> owners(String... owners) {
    return List.of(owners);
  }

  // ------------------------------------------------------------------ sign-ins

  @Override
  public Admission beginSignIn(String interactionId, PendingSignIn signIn, Instant until) {
    Instant now = clock.instant();
    String key = Sql.hash(interactionId);
    List<String> owners = owners("address:" + signIn.remoteAddress(), "client:" + signIn.clientId());
    return bounded(now, PostgresAuthorizationStateStore::limitedOrFull, h -> {
      signIns.deleteExpiredKey(h, "id_hash = :k", Map.of("k", key), now);
      int n = h.createUpdate("INSERT INTO halo_authz_sign_in (id_hash, sign_in, attempts, owners,"
              + " expires_at) VALUES (:k, CAST(:v AS jsonb), 0, CAST(:o AS text[]), :until)"
              + " ON CONFLICT DO NOTHING")
          .bind("k", key).bind("v", StateJson.write(signIn)).bindArray("o", String.class, owners)
          .bind("until", Sql.until(until)).execute();
      if (n == 0) {
        return Admission.FULL; // a random id never collides
      }
      signIns.check(h, owners);
      return Admission.ACCEPTED;
    });
  }

  @Override
  public Optional<PendingSignIn> signIn(String interactionId) {
    return jdbi.withHandle(h -> h.createQuery("SELECT sign_in, attempts FROM halo_authz_sign_in"
            + " WHERE id_hash = :k AND expires_at > :now")
        .bind("k", Sql.hash(interactionId)).bind("now", Sql.at(clock.instant()))
        .map((rs, ctx) -> StateJson.signIn(rs.getString("sign_in"), rs.getInt("attempts")))
        .findOne());
  }

  @Override
  public Optional<PendingSignIn> countSignInAttempt(String interactionId, int maxAttempts) {
    String key = Sql.hash(interactionId);
    Instant now = clock.instant();
    return jdbi.inTransaction(h -> {
      Optional<PendingSignIn> counted = h.createQuery("UPDATE halo_authz_sign_in"
              + " SET attempts = attempts + 1 WHERE id_hash = :k AND expires_at > :now"
              + " RETURNING sign_in, attempts")
          .bind("k", key).bind("now", Sql.at(now))
          .map((rs, ctx) -> StateJson.signIn(rs.getString("sign_in"), rs.getInt("attempts")))
          .findOne();
      if (counted.isPresent() && counted.get().attempts() > maxAttempts) {
        h.createUpdate("DELETE FROM halo_authz_sign_in WHERE id_hash = :k").bind("k", key).execute();
        return Optional.empty();
      }
      return counted;
    });
  }

  @Override
  public Optional<PendingSignIn> finishSignIn(String interactionId) {
    return jdbi.withHandle(h -> h.createQuery("DELETE FROM halo_authz_sign_in"
            + " WHERE id_hash = :k AND expires_at > :now RETURNING sign_in, attempts")
        .bind("k", Sql.hash(interactionId)).bind("now", Sql.at(clock.instant()))
        .map((rs, ctx) -> StateJson.signIn(rs.getString("sign_in"), rs.getInt("attempts")))
        .findOne());
  }

  @Override
  public Admission countAccountAttempt(String accountKey, String address, int maxAttempts,
      Instant windowEnd) {
    Instant now = clock.instant();
    String key = Sql.hash(accountKey);
    List<String> owners = owners("address:" + address);
    return bounded(now, PostgresAuthorizationStateStore::limitedOrFull, h -> {
      accountAttempts.deleteExpiredKey(h, "account_hash = :k", Map.of("k", key), now);
      Optional<Integer> count = h.createQuery("INSERT INTO halo_authz_account_attempt AS a"
              + " (account_hash, attempts, owners, expires_at)"
              + " VALUES (:k, 1, CAST(:o AS text[]), :until)"
              + " ON CONFLICT (account_hash) DO UPDATE SET attempts = a.attempts + 1"
              + " WHERE a.attempts < :max RETURNING attempts")
          .bind("k", key).bindArray("o", String.class, owners).bind("until", Sql.until(windowEnd))
          .bind("max", maxAttempts).mapTo(Integer.class).findOne();
      if (count.isEmpty()) {
        return Admission.LIMITED;
      }
      if (count.get() == 1) { // a new window: a new row
        accountAttempts.check(h, owners);
      }
      return Admission.ACCEPTED;
    });
  }

  @Override
  public void clearAccountAttempts(String accountKey) {
    jdbi.useHandle(h -> h.createUpdate("DELETE FROM halo_authz_account_attempt WHERE account_hash = :k")
        .bind("k", Sql.hash(accountKey)).execute());
  }

  // ------------------------------------------------------------------ single sign-on

  @Override
  public boolean putSsoSession(String sessionId, AuthenticatedUser user, Instant until) {
    Instant now = clock.instant();
    String key = Sql.hash(sessionId);
    List<String> owners = owners("user:" + user.subject());
    return bounded(now, full -> false, h -> {
      sso.deleteExpiredKey(h, "session_hash = :k", Map.of("k", key), now);
      int n = h.createUpdate("INSERT INTO halo_authz_sso_session (session_hash, user_info, owners,"
              + " expires_at) VALUES (:k, CAST(:v AS jsonb), CAST(:o AS text[]), :until)"
              + " ON CONFLICT DO NOTHING")
          .bind("k", key).bind("v", StateJson.write(user)).bindArray("o", String.class, owners)
          .bind("until", Sql.until(until)).execute();
      if (n == 0) {
        return false;
      }
      sso.check(h, owners);
      return true;
    });
  }

  @Override
  public Optional<AuthenticatedUser> ssoSession(String sessionId) {
    return jdbi.withHandle(h -> h.createQuery("SELECT user_info FROM halo_authz_sso_session"
            + " WHERE session_hash = :k AND expires_at > :now")
        .bind("k", Sql.hash(sessionId)).bind("now", Sql.at(clock.instant()))
        .map((rs, ctx) -> StateJson.user(rs.getString("user_info"))).findOne());
  }

  @Override
  public void removeSsoSession(String sessionId) {
    jdbi.useHandle(h -> h.createUpdate("DELETE FROM halo_authz_sso_session WHERE session_hash = :k")
        .bind("k", Sql.hash(sessionId)).execute());
  }

  // ------------------------------------------------------------------ codes and grants

  @Override
  public Admission putCode(String code, AuthorizationGrant grant, Instant until) {
    Instant now = clock.instant();
    String key = Sql.hash(code);
    List<String> owners = owners("user:" + grant.user().subject());
    return bounded(now, PostgresAuthorizationStateStore::limitedOrFull, h -> {
      codes.deleteExpiredKey(h, "code_hash = :k", Map.of("k", key), now);
      int n = h.createUpdate("INSERT INTO halo_authz_code (code_hash, grant_value, owners,"
              + " expires_at) VALUES (:k, CAST(:v AS jsonb), CAST(:o AS text[]), :until)"
              + " ON CONFLICT DO NOTHING")
          .bind("k", key).bind("v", StateJson.write(grant)).bindArray("o", String.class, owners)
          .bind("until", Sql.until(until)).execute();
      if (n == 0) {
        return Admission.FULL; // a random code never collides
      }
      codes.check(h, owners);
      return Admission.ACCEPTED;
    });
  }

  private record CodeRow(String grant, String usedByGrant) {}

  @Override
  public CodeRedemption redeemCode(String code, String grantId, Optional<String> refreshHash,
      Instant grantUntil, Instant usedUntil) {
    Instant now = clock.instant();
    String key = Sql.hash(code);
    return bounded(now, full -> CodeRedemption.of(CodeRedemption.Status.FULL), h -> {
      // the code's row lock orders every redemption of it: the first commits before the next reads
      Optional<CodeRow> row = h.createQuery("SELECT grant_value, used_by_grant FROM halo_authz_code"
              + " WHERE code_hash = :k AND expires_at > :now FOR UPDATE")
          .bind("k", key).bind("now", Sql.at(now))
          .map((rs, ctx) -> new CodeRow(rs.getString("grant_value"), rs.getString("used_by_grant")))
          .findOne();
      if (row.isEmpty()) {
        return CodeRedemption.of(CodeRedemption.Status.UNKNOWN);
      }
      if (row.get().usedByGrant() != null) {
        h.createUpdate("DELETE FROM halo_authz_grant WHERE grant_id = :g")
            .bind("g", row.get().usedByGrant()).execute();
        LOG.debug("authorization code replayed; the grant it started is ended");
        return CodeRedemption.of(CodeRedemption.Status.REPLAYED);
      }
      AuthorizationGrant grant = StateJson.grant(row.get().grant());
      List<String> owners = owners("user:" + grant.user().subject());
      grants.deleteExpiredKey(h, "grant_id = :g", Map.of("g", grantId), now);
      int n = h.createUpdate("INSERT INTO halo_authz_grant (grant_id, client_id, grant_value,"
              + " refresh_hash, owners, expires_at) VALUES (:g, :c, CAST(:v AS jsonb), :r,"
              + " CAST(:o AS text[]), :until) ON CONFLICT DO NOTHING")
          .bind("g", grantId).bind("c", grant.clientId()).bind("v", row.get().grant())
          .bind("r", refreshHash.orElse(null)).bindArray("o", String.class, owners)
          .bind("until", Sql.until(grantUntil)).execute();
      if (n == 0) {
        return CodeRedemption.of(CodeRedemption.Status.FULL); // nothing written: the code stays fresh
      }
      grants.check(h, owners);
      h.createUpdate("UPDATE halo_authz_code SET used_by_grant = :g, expires_at = :used"
              + " WHERE code_hash = :k")
          .bind("g", grantId).bind("used", Sql.until(usedUntil)).bind("k", key).execute();
      return CodeRedemption.redeemed(grant);
    });
  }

  @Override
  public RefreshRotation rotateRefresh(String grantId, String clientId, String presentedHash,
      String newHash, Instant grantUntil) {
    if (!Sql.storable(grantId, clientId, presentedHash)) {
      return RefreshRotation.of(RefreshRotation.Status.UNKNOWN); // names no row
    }
    Instant now = clock.instant();
    return jdbi.inTransaction(h -> {
      // one winner: a concurrent caller re-reads the row after the winner commits and no longer
      // finds presentedHash current, but among the prior hashes: a replay
      Optional<AuthorizationGrant> rotated = h.createQuery("UPDATE halo_authz_grant"
              + " SET refresh_hash = :new,"
              + " prior_hashes = (prior_hashes || refresh_hash)[greatest(1, cardinality(prior_hashes) - :keep):],"
              + " expires_at = :until"
              + " WHERE grant_id = :g AND client_id = :c AND expires_at > :now AND refresh_hash = :p"
              + " RETURNING grant_value")
          .bind("new", newHash).bind("keep", PRIOR_REFRESH_TOKENS - 2).bind("until", Sql.until(grantUntil))
          .bind("g", grantId).bind("c", clientId).bind("now", Sql.at(now)).bind("p", presentedHash)
          .map((rs, ctx) -> StateJson.grant(rs.getString("grant_value"))).findOne();
      if (rotated.isPresent()) {
        return RefreshRotation.rotated(rotated.get());
      }
      int ended = h.createUpdate("DELETE FROM halo_authz_grant WHERE grant_id = :g AND client_id = :c"
              + " AND expires_at > :now AND :p = ANY(prior_hashes)")
          .bind("g", grantId).bind("c", clientId).bind("now", Sql.at(now)).bind("p", presentedHash)
          .execute();
      if (ended > 0) {
        LOG.debug("refresh token replayed; its grant is ended");
        return RefreshRotation.of(RefreshRotation.Status.REPLAYED);
      }
      return RefreshRotation.of(RefreshRotation.Status.UNKNOWN);
    });
  }

  @Override
  public boolean revokeRefresh(String grantId, String clientId, String presentedHash) {
    if (!Sql.storable(grantId, clientId, presentedHash)) {
      return false;
    }
    return jdbi.withHandle(h -> h.createUpdate("DELETE FROM halo_authz_grant WHERE grant_id = :g"
            + " AND client_id = :c AND expires_at > :now"
            + " AND (refresh_hash = :p OR :p = ANY(prior_hashes))")
        .bind("g", grantId).bind("c", clientId).bind("now", Sql.at(clock.instant()))
        .bind("p", presentedHash).execute()) > 0;
  }

  @Override
  public Optional<AuthorizationGrant> grant(String grantId, String clientId) {
    if (!Sql.storable(grantId) || !Sql.storable(clientId)) {
      return Optional.empty();
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT grant_value FROM halo_authz_grant"
            + " WHERE grant_id = :g AND client_id = :c AND expires_at > :now")
        .bind("g", grantId).bind("c", clientId).bind("now", Sql.at(clock.instant()))
        .map((rs, ctx) -> StateJson.grant(rs.getString("grant_value"))).findOne());
  }

  @Override
  public boolean grantActive(String grantId) {
    if (!Sql.storable(grantId)) {
      return false;
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM halo_authz_grant"
            + " WHERE grant_id = :g AND expires_at > :now)")
        .bind("g", grantId).bind("now", Sql.at(clock.instant())).mapTo(Boolean.class).one());
  }

  @Override
  public void endGrant(String grantId) {
    if (!Sql.storable(grantId)) {
      return;
    }
    jdbi.useHandle(h -> h.createUpdate("DELETE FROM halo_authz_grant WHERE grant_id = :g")
        .bind("g", grantId).execute());
  }

  // ------------------------------------------------------------------ access tokens, assertions

  @Override
  public boolean revoke(String jti, String clientId, Instant until) {
    if (!Sql.storable(jti, clientId)) {
      return true; // no token of this server has such a jti: nothing to revoke
    }
    Instant now = clock.instant();
    List<String> owners = owners("client:" + clientId);
    return bounded(now, full -> false, h -> {
      revoked.deleteExpiredKey(h, "jti = :j", Map.of("j", jti), now);
      int n = h.createUpdate("INSERT INTO halo_authz_revoked_token (jti, client_id, owners,"
              + " expires_at) VALUES (:j, :c, CAST(:o AS text[]), :until) ON CONFLICT DO NOTHING")
          .bind("j", jti).bind("c", clientId).bindArray("o", String.class, owners)
          .bind("until", Sql.until(until)).execute();
      if (n > 0) {
        revoked.check(h, owners);
      }
      return true; // recorded now, or already
    });
  }

  @Override
  public boolean isRevoked(String jti) {
    if (!Sql.storable(jti)) {
      return false;
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM halo_authz_revoked_token"
            + " WHERE jti = :j AND expires_at > :now)")
        .bind("j", jti).bind("now", Sql.at(clock.instant())).mapTo(Boolean.class).one());
  }

  @Override
  public boolean tokenLive(String jti, String grantId) {
    if (!Sql.storable(jti, grantId)) {
      return false; // no token of this server: not live
    }
    return jdbi.withHandle(h -> h.createQuery("SELECT NOT EXISTS (SELECT 1 FROM halo_authz_revoked_token"
            + " WHERE jti = :j AND expires_at > :now) AND (CAST(:g AS text) IS NULL OR EXISTS (SELECT 1"
            + " FROM halo_authz_grant WHERE grant_id = :g AND expires_at > :now))")
        .bind("j", jti).bind("g", grantId).bind("now", Sql.at(clock.instant()))
        .mapTo(Boolean.class).one());
  }

  @Override
  public Admission recordAssertionJti(String clientId, String jti, Instant until) {
    Instant now = clock.instant();
    String key = Sql.hash(jti); // the client's text, of any content: kept as a fixed-size hash
    List<String> owners = owners("client:" + clientId);
    return bounded(now, PostgresAuthorizationStateStore::limitedOrFull, h -> {
      assertionJtis.deleteExpiredKey(h, "client_id = :c AND jti = :j", Map.of("c", clientId, "j", key), now);
      int n = h.createUpdate("INSERT INTO halo_authz_assertion_jti (client_id, jti, owners,"
              + " expires_at) VALUES (:c, :j, CAST(:o AS text[]), :until) ON CONFLICT DO NOTHING")
          .bind("c", clientId).bind("j", key).bindArray("o", String.class, owners)
          .bind("until", Sql.until(until)).execute();
      if (n == 0) {
        return Admission.REPLAYED;
      }
      assertionJtis.check(h, owners);
      return Admission.ACCEPTED;
    });
  }

  /** Rows per table, expired ones not yet purged included, for monitoring. */
  public String sizes() {
    return jdbi.withHandle(h -> "signIns=" + signIns.count(h) + ", codes=" + codes.count(h)
        + ", grants=" + grants.count(h) + ", sso=" + sso.count(h) + ", revoked=" + revoked.count(h)
        + ", assertionJtis=" + assertionJtis.count(h) + ", accountAttempts="
        + accountAttempts.count(h));
  }

  @Override
  public String toString() {
    return "PostgresAuthorizationStateStore{capacity=" + capacity + "}";
  }

  /** Builds a {@link PostgresAuthorizationStateStore}; {@link #build()} checks the bounds. */
  public static final class Builder {
    private final PostgresDatabase database;
    private Clock clock = Clock.systemUTC();
    private int capacity = 100_000;
    private int maxPerOwner;
    private int maxPendingSignInsPerAddress = 100;

    private Builder(PostgresDatabase database) {
      this.database = Objects.requireNonNull(database, "database");
    }

    /** The clock expiry is judged by: the authorization server's. Default the system clock. */
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** Rows each table may hold. Default 100,000. */
    public Builder capacity(int v) { this.capacity = v; return this; }
    /** Rows one user, client or address may hold in a table. Default a tenth of capacity. */
    public Builder maxPerOwner(int v) { this.maxPerOwner = v; return this; }
    /** Sign-ins one address may have pending at once. Default 100. */
    public Builder maxPendingSignInsPerAddress(int v) { this.maxPendingSignInsPerAddress = v; return this; }

    public PostgresAuthorizationStateStore build() {
      if (capacity < 1 || maxPerOwner < 0 || maxPendingSignInsPerAddress < 1) {
        throw new IllegalStateException("capacity and maxPendingSignInsPerAddress must be positive,"
            + " maxPerOwner not negative");
      }
      return new PostgresAuthorizationStateStore(this);
    }
  }
}
