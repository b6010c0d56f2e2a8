package ca.halo.server.authz;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Every piece of state the {@link SmartAuthorizationServer} keeps between requests: pending
 * sign-ins, sign-in attempt counts, single-sign-on sessions, authorization codes, grants (the
 * family of tokens issued from one code, with its current refresh token), revoked access tokens
 * and the client-assertion ids already used.
 *
 * <pre>{@code
 * AuthorizationStateStore store = InMemoryAuthorizationStateStore.builder().capacity(100_000).build();
 * SmartAuthorizationServer as = SmartAuthorizationServer.builder()...stateStore(store).build();
 * }</pre>
 *
 * <p>Contract for implementations (in memory, or a database shared by several nodes): each
 * method is one atomic step, safe to call from many threads (and nodes) at once; the Javadoc of
 * each says what must happen together. Storage is bounded and <em>fails closed</em>: when a
 * write cannot be recorded, the method says so ({@link Admission#FULL}, {@code false}) and the
 * server refuses the new work; nothing already recorded is ever dropped to make room (a store
 * that evicts revocations or used assertion ids would let a revoked token or a replay through).
 * Entries live until the instant given and are gone after it. Secrets arrive hashed (refresh
 * tokens) or as random identifiers; implementations must not log them.
 *
 * <p>Spec: RFC 6749 sections 4.1.2, 10.4, 10.5 and 10.12; RFC 7009 section 2.1; RFC 7523
 * section 3 (jti); OAuth 2.0 Security BCP (RFC 9700) section 4.14 (refresh token rotation).
 */
public interface AuthorizationStateStore {
  /** The answer to a write that may be refused. */
  enum Admission {
    /** Recorded. */
    ACCEPTED,
    /** The key was already recorded (a replayed assertion {@code jti}); nothing changed. */
    REPLAYED,
    /**
     * A limit for this key or its owner is reached (attempts, or the share of a table one
     * address, client or user may hold); nothing changed.
     */
    LIMITED,
    /** The store is full; nothing changed. The caller refuses the work until entries expire. */
    FULL
  }

  // ------------------------------------------------------------------ sign-ins

  /**
   * Records a sign-in waiting for its user, until {@code until}. {@link Admission#LIMITED} when
   * its address (or client) already holds its share of pending sign-ins.
   */
  Admission beginSignIn(String interactionId, PendingSignIn signIn, Instant until);

  /** The live pending sign-in. */
  Optional<PendingSignIn> signIn(String interactionId);

  /**
   * Atomically counts one sign-in attempt and returns the sign-in with it counted; empty when
   * the sign-in is unknown or expired, or when this attempt is beyond {@code maxAttempts} (then
   * the sign-in is removed). Concurrent attempts each get their own count.
   */
  Optional<PendingSignIn> countSignInAttempt(String interactionId, int maxAttempts);

  /** Atomically removes the pending sign-in; exactly one of concurrent callers gets it. */
  Optional<PendingSignIn> finishSignIn(String interactionId);

  /**
   * Atomically counts one credential check for an account (a user name as typed, known or not)
   * in the window ending at {@code windowEnd} (the window starts with the first attempt).
   * {@link Admission#LIMITED} when {@code maxAttempts} were already counted in the window, or
   * when {@code address} holds its share of the table.
   */
  Admission countAccountAttempt(String accountKey, String address, int maxAttempts, Instant windowEnd);

  /** Forgets the attempts of an account (after a successful sign-in). */
  void clearAccountAttempts(String accountKey);

  // ------------------------------------------------------------------ single sign-on

  /** Records an SSO session; false when it cannot be recorded (the user just signs in again). */
  boolean putSsoSession(String sessionId, AuthenticatedUser user, Instant until);

  Optional<AuthenticatedUser> ssoSession(String sessionId);

  void removeSsoSession(String sessionId);

  // ------------------------------------------------------------------ codes and grants

  /** Records a fresh authorization code until {@code until}. */
  Admission putCode(String code, AuthorizationGrant grant, Instant until);

  /**
   * Redeems a code, in one atomic step with respect to every other call for the same code:
   * <ul>
   *   <li>a fresh code: starts grant {@code grantId} (with {@code refreshHash}, the hash of its
   *       first refresh token, if any) live until {@code grantUntil}, marks the code used until
   *       {@code usedUntil}, and answers {@link CodeRedemption.Status#REDEEMED} with the grant.
   *       Exactly one caller ever gets this answer for a code. If the grant cannot be recorded,
   *       answers {@link CodeRedemption.Status#FULL} and leaves the code fresh;</li>
   *   <li>a used code: ends the grant it started (so every token issued from it, including those
   *       a concurrent winner is still issuing, is revoked) and answers
   *       {@link CodeRedemption.Status#REPLAYED};</li>
   *   <li>otherwise {@link CodeRedemption.Status#UNKNOWN}.</li>
   * </ul>
   */
  CodeRedemption redeemCode(String code, String grantId, Optional<String> refreshHash,
      Instant grantUntil, Instant usedUntil);

  /**
   * Rotates the refresh token of grant {@code grantId} for client {@code clientId}, atomically:
   * if {@code presentedHash} is the grant's current refresh token, it becomes {@code newHash},
   * the grant lives until {@code grantUntil}, and the answer is
   * {@link RefreshRotation.Status#ROTATED} (exactly one of concurrent callers with the same token
   * gets it). If it is a refresh token the grant had before (a replay), the grant ends and the
   * answer is {@link RefreshRotation.Status#REPLAYED}. Anything else (unknown grant, another
   * client, a hash the grant never had) is {@link RefreshRotation.Status#UNKNOWN}, changing
   * nothing.
   */
  RefreshRotation rotateRefresh(String grantId, String clientId, String presentedHash, String newHash,
      Instant grantUntil);

  /**
   * Ends grant {@code grantId} if {@code presentedHash} is a refresh token it has or had and the
   * grant is {@code clientId}'s (RFC 7009). Returns whether it did.
   */
  boolean revokeRefresh(String grantId, String clientId, String presentedHash);

  /** Whether grant {@code grantId} is live (its tokens are valid only while it is). */
  boolean grantActive(String grantId);

  /**
   * The live grant {@code grantId} of client {@code clientId}, read without changing it (the
   * token endpoint checks a refresh's scope against it before rotating, so a refused refresh
   * leaves the refresh token usable). Empty when unknown, expired or another client's. The
   * default knows none, and the token endpoint then narrows such a refresh to the grant instead.
   */
  default Optional<AuthorizationGrant> grant(String grantId, String clientId) {
    return Optional.empty();
  }

  /** Ends a grant: its access and refresh tokens stop working. */
  void endGrant(String grantId);

  // ------------------------------------------------------------------ access tokens, assertions

  /**
   * Records access token {@code jti} (of {@code clientId}) as revoked until {@code until}, its
   * expiry. False when it cannot be recorded; the caller must then report failure, not success.
   */
  boolean revoke(String jti, String clientId, Instant until);

  boolean isRevoked(String jti);

  /**
   * Whether access token {@code jti} is live: not revoked, and its grant {@code grantId} (null for
   * a token without one) active. Asked on every request a token makes, so a database store answers
   * it in one statement; the default asks {@link #isRevoked} and {@link #grantActive}.
   */
  default boolean tokenLive(String jti, String grantId) {
    return !isRevoked(jti) && (grantId == null || grantActive(grantId));
  }

  /**
   * Check-and-insert of a client assertion's {@code jti}, in one atomic step:
   * {@link Admission#ACCEPTED} the first time (remembered until {@code until}),
   * {@link Admission#REPLAYED} after; {@link Admission#LIMITED} or {@link Admission#FULL} when it
   * cannot be recorded, in which case the assertion must be refused (never accepted unrecorded).
   */
  Admission recordAssertionJti(String clientId, String jti, Instant until);

  // ------------------------------------------------------------------ results

  /** The answer of {@link #redeemCode}. Immutable. */
  final class CodeRedemption {
    /** What the code was. */
    public enum Status { REDEEMED, REPLAYED, UNKNOWN, FULL }

    private final Status status;
    private final AuthorizationGrant grant;

    private CodeRedemption(Status status, AuthorizationGrant grant) {
      this.status = status;
      this.grant = grant;
    }

    public static CodeRedemption redeemed(AuthorizationGrant grant) {
      return new CodeRedemption(Status.REDEEMED, Objects.requireNonNull(grant));
    }

    public static CodeRedemption of(Status status) {
      if (status == Status.REDEEMED) {
        throw new IllegalArgumentException("a redeemed code comes with its grant");
      }
      return new CodeRedemption(status, null);
    }

    public Status status() { return status; }
    /** The grant, when {@link Status#REDEEMED}. */
    public Optional<AuthorizationGrant> grant() { return Optional.ofNullable(grant); }

    @Override
    public boolean equals(Object o) {
      return o instanceof CodeRedemption && ((CodeRedemption) o).status == status
          && Objects.equals(((CodeRedemption) o).grant, grant);
    }

    @Override
    public int hashCode() {
      return Objects.hash(status, grant);
    }

    @Override
    public String toString() {
      return "CodeRedemption{" + status + "}";
    }
  }

  /** The answer of {@link #rotateRefresh}. Immutable. */
  final class RefreshRotation {
    /** What the refresh token was. */
    public enum Status { ROTATED, REPLAYED, UNKNOWN }

    private final Status status;
    private final AuthorizationGrant grant;

    private RefreshRotation(Status status, AuthorizationGrant grant) {
      this.status = status;
      this.grant = grant;
    }

    public static RefreshRotation rotated(AuthorizationGrant grant) {
      return new RefreshRotation(Status.ROTATED, Objects.requireNonNull(grant));
    }

    public static RefreshRotation of(Status status) {
      if (status == Status.ROTATED) {
        throw new IllegalArgumentException("a rotation comes with its grant");
      }
      return new RefreshRotation(status, null);
    }

    public Status status() { return status; }
    /** The grant, when {@link Status#ROTATED}. */
    public Optional<AuthorizationGrant> grant() { return Optional.ofNullable(grant); }

    @Override
    public boolean equals(Object o) {
      return o instanceof RefreshRotation && ((RefreshRotation) o).status == status
          && Objects.equals(((RefreshRotation) o).grant, grant);
    }

    @Override
    public int hashCode() {
      return Objects.hash(status, grant);
    }

    @Override
    public String toString() {
      return "RefreshRotation{" + status + "}";
    }
  }
}
