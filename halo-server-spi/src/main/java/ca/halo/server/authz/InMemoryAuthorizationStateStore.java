package ca.halo.server.authz;

import ca.halo.server.internal.ExpiringTable;
import ca.halo.server.internal.ExpiringTable.Put;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@link AuthorizationStateStore} of a single node: bounded in-memory tables that fail
 * closed, with expiry at O(1) amortised cost per operation and no lock held over a scan.
 *
 * <pre>{@code
 * AuthorizationStateStore store = InMemoryAuthorizationStateStore.builder()
 *     .clock(clock).capacity(100_000).maxPendingSignInsPerAddress(100).build();
 * }</pre>
 *
 * <p>Bounds: each table holds at most {@code capacity} live entries. No one fills a table for
 * everyone else: an address holds at most {@code maxPendingSignInsPerAddress} pending sign-ins
 * (and a client half the table); a user, a client or an address at most {@code maxPerOwner}
 * entries of the tables their requests fill (codes, grants and SSO sessions per user; revoked
 * tokens and assertion ids per client; account attempt counters per address). A write beyond a
 * bound is refused and reported, so the server refuses the work; nothing is evicted early.
 *
 * <p>Thread-safe; every method is atomic as {@link AuthorizationStateStore} requires. State is
 * lost on restart and not shared between nodes: several nodes need a shared implementation.
 */
public final class InMemoryAuthorizationStateStore implements AuthorizationStateStore {
  /** Refresh tokens a grant remembers having had, to recognise a replay of an old one. */
  static final int PRIOR_REFRESH_TOKENS = 32;

  private record Attempts(int count, String address) {}

  private record CodeEntry(AuthorizationGrant grant, String usedByGrant) {}

  private record GrantEntry(AuthorizationGrant grant, String refreshHash, List<String> priorHashes) {}

  private record Owned(String clientId) {}

  private final Clock clock;
  private final ExpiringTable<String, PendingSignIn> signIns;
  private final ExpiringTable<String, Attempts> accountAttempts;
  private final ExpiringTable<String, AuthenticatedUser> sso;
  private final ExpiringTable<String, CodeEntry> codes;
  private final ExpiringTable<String, GrantEntry> grants;
  private final ExpiringTable<String, Owned> revoked;
  private final ExpiringTable<String, Owned> assertionJtis;

  private InMemoryAuthorizationStateStore(Builder b) {
    this.clock = b.clock;
    int cap = b.capacity;
    int perOwner = b.maxPerOwner > 0 ? b.maxPerOwner : Math.max(1, cap / 10);
    int perAddress = b.maxPendingSignInsPerAddress;
    int perClientSignIns = Math.max(1, cap / 2);
    this.signIns = ExpiringTable.<String, PendingSignIn>builder(clock, cap)
        .shares(p -> List.of("address:" + p.remoteAddress(), "client:" + p.clientId()),
            o -> o.startsWith("address:") ? perAddress : perClientSignIns)
        .build();
    this.accountAttempts = ExpiringTable.<String, Attempts>builder(clock, cap)
        .shares(a -> List.of(a.address()), o -> perOwner).build();
    this.sso = ExpiringTable.<String, AuthenticatedUser>builder(clock, cap)
        .shares(u -> List.of(u.subject()), o -> perOwner).build();
    this.codes = ExpiringTable.<String, CodeEntry>builder(clock, cap)
        .shares(c -> List.of(c.grant().user().subject()), o -> perOwner).build();
    this.grants = ExpiringTable.<String, GrantEntry>builder(clock, cap)
        .shares(g -> List.of(g.grant().user().subject()), o -> perOwner).build();
    this.revoked = ExpiringTable.<String, Owned>builder(clock, cap)
        .shares(r -> List.of(r.clientId()), o -> perOwner).build();
    this.assertionJtis = ExpiringTable.<String, Owned>builder(clock, cap)
        .shares(r -> List.of(r.clientId()), o -> perOwner).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  private static Admission admission(Put p) {
    switch (p) {
      case ADDED:
        return Admission.ACCEPTED;
      case EXISTS:
        return Admission.REPLAYED;
      case OVER_SHARE:
        return Admission.LIMITED;
      default:
        return Admission.FULL;
    }
  }

  private static boolean same(String a, String b) {
    return a != null && b != null && MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII),
        b.getBytes(StandardCharsets.US_ASCII));
  }

  // ------------------------------------------------------------------ sign-ins

  @Override
  public Admission beginSignIn(String interactionId, PendingSignIn signIn, Instant until) {
    Admission a = admission(signIns.putIfAbsent(interactionId, signIn, until));
    return a == Admission.REPLAYED ? Admission.FULL : a; // a random id never collides
  }

  @Override
  public Optional<PendingSignIn> signIn(String interactionId) {
    return signIns.get(interactionId);
  }

  @Override
  public Optional<PendingSignIn> countSignInAttempt(String interactionId, int maxAttempts) {
    return signIns.compute(interactionId, slot -> {
      if (slot.value().isEmpty()) {
        return Optional.<PendingSignIn>empty();
      }
      PendingSignIn p = slot.value().get().withAttempt();
      if (p.attempts() > maxAttempts) {
        slot.remove();
        return Optional.<PendingSignIn>empty();
      }
      slot.replace(p);
      return Optional.of(p);
    });
  }

  @Override
  public Optional<PendingSignIn> finishSignIn(String interactionId) {
    return signIns.remove(interactionId);
  }

  @Override
  public Admission countAccountAttempt(String accountKey, String address, int maxAttempts,
      Instant windowEnd) {
    return accountAttempts.compute(accountKey, slot -> {
      if (slot.value().isEmpty()) {
        return admission(slot.set(new Attempts(1, address), windowEnd));
      }
      Attempts a = slot.value().get();
      if (a.count() >= maxAttempts) {
        return Admission.LIMITED;
      }
      slot.replace(new Attempts(a.count() + 1, a.address()));
      return Admission.ACCEPTED;
    });
  }

  @Override
  public void clearAccountAttempts(String accountKey) {
    accountAttempts.remove(accountKey);
  }

  // ------------------------------------------------------------------ single sign-on

  @Override
  public boolean putSsoSession(String sessionId, AuthenticatedUser user, Instant until) {
    return sso.putIfAbsent(sessionId, user, until) == Put.ADDED;
  }

  @Override
  public Optional<AuthenticatedUser> ssoSession(String sessionId) {
    return sso.get(sessionId);
  }

  @Override
  public void removeSsoSession(String sessionId) {
    sso.remove(sessionId);
  }

  // ------------------------------------------------------------------ codes and grants

  @Override
  public Admission putCode(String code, AuthorizationGrant grant, Instant until) {
    Admission a = admission(codes.putIfAbsent(code, new CodeEntry(grant, null), until));
    return a == Admission.REPLAYED ? Admission.FULL : a;
  }

  @Override
  public CodeRedemption redeemCode(String code, String grantId, Optional<String> refreshHash,
      Instant grantUntil, Instant usedUntil) {
    return codes.compute(code, slot -> {
      if (slot.value().isEmpty()) {
        return CodeRedemption.of(CodeRedemption.Status.UNKNOWN);
      }
      CodeEntry e = slot.value().get();
      if (e.usedByGrant() != null) {
        grants.remove(e.usedByGrant()); // under this code's lock: the winner's grant exists by now
        return CodeRedemption.of(CodeRedemption.Status.REPLAYED);
      }
      Put p = grants.putIfAbsent(grantId, new GrantEntry(e.grant(), refreshHash.orElse(null),
          List.of()), grantUntil);
      if (p != Put.ADDED) {
        return CodeRedemption.of(CodeRedemption.Status.FULL);
      }
      slot.set(new CodeEntry(e.grant(), grantId), usedUntil);
      return CodeRedemption.redeemed(e.grant());
    });
  }

  @Override
  public RefreshRotation rotateRefresh(String grantId, String clientId, String presentedHash,
      String newHash, Instant grantUntil) {
    return grants.compute(grantId, slot -> {
      GrantEntry g = slot.value().orElse(null);
      if (g == null || !g.grant().clientId().equals(clientId)) {
        return RefreshRotation.of(RefreshRotation.Status.UNKNOWN);
      }
      if (same(g.refreshHash(), presentedHash)) {
        List<String> prior = new ArrayList<>(g.priorHashes());
        prior.add(g.refreshHash());
        if (prior.size() > PRIOR_REFRESH_TOKENS) {
          prior.remove(0);
        }
        slot.set(new GrantEntry(g.grant(), newHash, List.copyOf(prior)), grantUntil);
        return RefreshRotation.rotated(g.grant());
      }
      if (g.priorHashes().stream().anyMatch(h -> same(h, presentedHash))) {
        slot.remove();
        return RefreshRotation.of(RefreshRotation.Status.REPLAYED);
      }
      return RefreshRotation.of(RefreshRotation.Status.UNKNOWN);
    });
  }

  @Override
  public boolean revokeRefresh(String grantId, String clientId, String presentedHash) {
    return grants.compute(grantId, slot -> {
      GrantEntry g = slot.value().orElse(null);
      if (g == null || !g.grant().clientId().equals(clientId)
          || !(same(g.refreshHash(), presentedHash)
              || g.priorHashes().stream().anyMatch(h -> same(h, presentedHash)))) {
        return false;
      }
      slot.remove();
      return true;
    });
  }

  @Override
  public Optional<AuthorizationGrant> grant(String grantId, String clientId) {
    return grants.get(grantId).map(GrantEntry::grant).filter(g -> g.clientId().equals(clientId));
  }

  @Override
  public boolean grantActive(String grantId) {
    return grants.get(grantId).isPresent();
  }

  @Override
  public void endGrant(String grantId) {
    grants.remove(grantId);
  }

  // ------------------------------------------------------------------ access tokens, assertions

  @Override
  public boolean revoke(String jti, String clientId, Instant until) {
    Put p = revoked.putIfAbsent(jti, new Owned(clientId), until);
    return p == Put.ADDED || p == Put.EXISTS;
  }

  @Override
  public boolean isRevoked(String jti) {
    return revoked.get(jti).isPresent();
  }

  @Override
  public Admission recordAssertionJti(String clientId, String jti, Instant until) {
    return admission(assertionJtis.putIfAbsent(clientId + "|" + jti, new Owned(clientId), until));
  }

  /** Live entries per table, for monitoring (sign-ins, codes, grants, revoked, assertion ids). */
  public String sizes() {
    return "signIns=" + signIns.size() + ", codes=" + codes.size() + ", grants=" + grants.size()
        + ", sso=" + sso.size() + ", revoked=" + revoked.size() + ", assertionJtis="
        + assertionJtis.size() + ", accountAttempts=" + accountAttempts.size();
  }

  @Override
  public String toString() {
    return "InMemoryAuthorizationStateStore{" + sizes() + "}";
  }

  /** Builds an {@link InMemoryAuthorizationStateStore}. */
  public static final class Builder {
    private Clock clock = Clock.systemUTC();
    private int capacity = 100_000;
    private int maxPerOwner;
    private int maxPendingSignInsPerAddress = 100;

    private Builder() {}

    /** The clock expiry is judged by: the authorization server's. */
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** Live entries each table may hold. Default 100,000. */
    public Builder capacity(int v) { this.capacity = v; return this; }
    /** Entries one user, client or address may hold in a table. Default a tenth of capacity. */
    public Builder maxPerOwner(int v) { this.maxPerOwner = v; return this; }
    /** Sign-ins one address may have pending at once. Default 100. */
    public Builder maxPendingSignInsPerAddress(int v) { this.maxPendingSignInsPerAddress = v; return this; }

    public InMemoryAuthorizationStateStore build() {
      if (capacity < 1 || maxPerOwner < 0 || maxPendingSignInsPerAddress < 1) {
        throw new IllegalStateException("capacity and maxPendingSignInsPerAddress must be positive,"
            + " maxPerOwner not negative");
      }
      return new InMemoryAuthorizationStateStore(this);
    }
  }
}
