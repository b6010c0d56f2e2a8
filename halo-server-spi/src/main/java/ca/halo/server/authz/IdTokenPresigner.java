package ca.halo.server.authz;

import ca.halo.server.internal.ExpiringTable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Signs a code's id_token while the browser carries the code to the app, so the token call does
 * not wait for an RSA signature (about 1 ms, most of a token response). Everything the id_token
 * says (issuer, user, client, nonce, fhirUser) is fixed when the code is issued; its {@code iat}
 * is when the background thread signed it.
 *
 * <p>Bounded and fail-safe: one signing thread (gone when idle), a queue of 64, a table of
 * {@code capacity} entries. A signature that was not made in time, was dropped, failed, is older
 * than {@code maxAge}, or was made with a key that no longer signs is not used: the token call
 * signs as it would have. A code's entry is taken once, by its redemption, whatever the outcome;
 * a failed or replayed redemption cancels a signature not yet made.
 *
 * <p>What it costs: a code redeemed in time costs no more CPU than before; a code abandoned,
 * refused or redeemed late costs one extra signature, as a code redeemed costs one at its token
 * call. So that signing in again and again without redeeming (an SSO cookie makes that one
 * request) cannot turn into a stream of signatures, at most {@code perUser} codes of one user wait
 * signed at once, each for at most {@code maxAge}: past that a user's codes are simply signed at
 * their token calls, and one user cannot fill the table for the others.
 */
final class IdTokenPresigner {
  /** A signed id_token, the key that signed it and when. */
  record Signed(String jwt, String kid, Instant at) {}

  private static final int QUEUED = 0;
  private static final int SIGNING = 1;
  private static final int DONE = 2;
  private static final int CANCELLED = 3;

  /** One code's signature: queued, being signed, done, or cancelled before it was made. */
  static final class Slot {
    private final String user;
    private final AtomicInteger state = new AtomicInteger(QUEUED);
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Signed signed;

    Slot(String user) {
      this.user = user;
    }

    void sign(Supplier<Signed> signer) {
      if (!state.compareAndSet(QUEUED, SIGNING)) {
        return; // taken or cancelled first: the token call signs itself, or nobody does
      }
      try {
        signed = signer.get();
      } catch (RuntimeException e) {
        signed = null; // the token call signs itself
      } finally {
        state.set(DONE);
        done.countDown();
      }
    }

    boolean signed() {
      return state.get() == DONE && signed != null && !claimed.get();
    }

    /** Never to be used, and not signed if not yet begun. */
    void cancel() {
      claimed.set(true);
      state.compareAndSet(QUEUED, CANCELLED);
    }

    /**
     * The signature, once: if made or being made (waits up to {@code wait} for it); empty if
     * taken before, or not begun (then it never will be).
     */
    Optional<Signed> take(Duration wait) {
      if (!claimed.compareAndSet(false, true) || state.compareAndSet(QUEUED, CANCELLED)) {
        return Optional.empty();
      }
      try {
        if (!done.await(wait.toNanos(), TimeUnit.NANOSECONDS)) {
          return Optional.empty();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
      return Optional.ofNullable(signed);
    }
  }

  private final Clock clock;
  private final Duration maxAge;
  private final ExpiringTable<String, Slot> slots;
  private final ThreadPoolExecutor signer;

  IdTokenPresigner(Clock clock, int capacity, int perUser, Duration maxAge) {
    this.clock = clock;
    this.maxAge = maxAge;
    this.slots = ExpiringTable.<String, Slot>builder(clock, capacity)
        .shares(slot -> List.of(slot.user), user -> perUser).build();
    ClassLoader loader = IdTokenPresigner.class.getClassLoader();
    this.signer = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
        r -> {
          // no thread-locals of the request thread that happens to start it, nor its class loader
          Thread t = new Thread(null, r, "halo-authz-id-token", 0, false);
          t.setContextClassLoader(loader);
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
    this.signer.allowCoreThreadTimeOut(true);
  }

  /**
   * Starts signing the id_token of the code {@code codeKey} of {@code user}; nothing happens if
   * the table, the user's share or the queue is full.
   */
  void offer(String codeKey, String user, Instant codeExpires, Supplier<Signed> sign) {
    Slot slot = new Slot(user);
    Instant until = clock.instant().plus(maxAge);
    if (codeExpires.isBefore(until)) {
      until = codeExpires;
    }
    if (slots.putIfAbsent(codeKey, slot, until) != ExpiringTable.Put.ADDED) {
      return;
    }
    try {
      signer.execute(() -> slot.sign(sign));
    } catch (RejectedExecutionException e) {
      // discarded: the slot stays queued, and the token call signs itself
    }
  }

  /**
   * The code's id_token if it was signed ahead by {@code currentKid} no longer than
   * {@code maxAge} ago; never the same one twice.
   */
  Optional<String> take(String codeKey, String currentKid) {
    Optional<Slot> slot = slots.remove(codeKey);
    if (slot.isEmpty()) {
      return Optional.empty();
    }
    Optional<Signed> signed = slot.get().take(Duration.ofMillis(50));
    Instant now = clock.instant();
    return signed
        .filter(s -> s.kid().equals(currentKid))
        .filter(s -> !s.at().plus(maxAge).isBefore(now) && !s.at().isAfter(now))
        .map(Signed::jwt);
  }

  /** The code's redemption failed: its signature is never used, and not made if not yet begun. */
  void forget(String codeKey) {
    slots.remove(codeKey).ifPresent(Slot::cancel);
  }

  /** Whether the code's signature is made and not yet taken. */
  boolean signed(String codeKey) {
    return slots.get(codeKey).map(Slot::signed).orElse(false);
  }

  /** Entries waiting for their redemption. */
  int size() {
    slots.expireNow();
    return slots.size();
  }
}
