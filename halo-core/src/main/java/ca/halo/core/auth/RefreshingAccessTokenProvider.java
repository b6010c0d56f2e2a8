package ca.halo.core.auth;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An {@link AccessTokenProvider} that refreshes ahead of expiry, single flight.
 *
 * <pre>{@code
 * AccessTokenProvider tokens = RefreshingAccessTokenProvider.builder(current -> grant())
 *     .refreshAhead(Duration.ofSeconds(60))
 *     .build();
 * }</pre>
 *
 * <p>Thread-safe: when many threads find the token stale at once, exactly one calls the
 * {@link TokenSource}; the others wait and share its result. A failed refresh throws to every
 * waiting caller and leaves the old token in place. The first token is fetched lazily unless one
 * is given with {@link Builder#initial(AccessToken)}.
 */
public final class RefreshingAccessTokenProvider implements AccessTokenProvider {
  private final TokenSource source;
  private final Duration refreshAhead;
  private final Clock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile AccessToken current;

  private RefreshingAccessTokenProvider(Builder b) {
    this.source = b.source;
    this.refreshAhead = b.refreshAhead;
    this.clock = b.clock;
    this.current = b.initial;
  }

  public static Builder builder(TokenSource source) {
    return new Builder(source);
  }

  @Override
  public AccessToken token() {
    AccessToken t = current;
    if (t != null && !t.expiresWithin(refreshAhead, clock)) {
      return t;
    }
    lock.lock();
    try {
      t = current;
      if (t != null && !t.expiresWithin(refreshAhead, clock)) {
        return t; // another thread refreshed while we waited
      }
      AccessToken fresh = Objects.requireNonNull(source.fetch(t), "token source returned null");
      current = fresh;
      return fresh;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public AccessToken refreshAfterRejection(AccessToken rejected) {
    lock.lock();
    try {
      AccessToken t = current;
      if (t != null && !t.equals(rejected)) {
        return t; // someone already replaced the rejected token
      }
      AccessToken fresh = Objects.requireNonNull(source.fetch(t), "token source returned null");
      current = fresh;
      return fresh;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "RefreshingAccessTokenProvider{refreshAhead=" + refreshAhead + "}";
  }

  /** Builds a {@link RefreshingAccessTokenProvider}. */
  public static final class Builder {
    private final TokenSource source;
    private Duration refreshAhead = Duration.ofSeconds(60);
    private Clock clock = Clock.systemUTC();
    private AccessToken initial;

    private Builder(TokenSource source) {
      this.source = Objects.requireNonNull(source, "source");
    }

    /** How long before expiry to refresh. Default 60 seconds. */
    public Builder refreshAhead(Duration d) {
      Objects.requireNonNull(d, "refreshAhead");
      if (d.isNegative()) {
        throw new IllegalArgumentException("refreshAhead must not be negative");
      }
      this.refreshAhead = d;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** A token already held, used until it nears expiry. */
    public Builder initial(AccessToken token) {
      this.initial = Objects.requireNonNull(token, "initial");
      return this;
    }

    public RefreshingAccessTokenProvider build() {
      return new RefreshingAccessTokenProvider(this);
    }
  }
}
