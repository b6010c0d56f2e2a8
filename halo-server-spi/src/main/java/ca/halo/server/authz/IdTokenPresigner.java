package ca.halo.server.authz;

import ca.halo.server.internal.ExpiringTable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Signs a code's id_token while the browser carries the code to the app, so the token call does
 * not wait for an RSA signature (about 1 ms, most of a token response). Everything the id_token
 * says (issuer, user, client, nonce, fhirUser) is fixed when the code is issued.
 *
 * <p>Bounded and fail-safe: one signing thread (gone when idle), a queue of 64, a table of
 * {@code capacity} entries that expire with their code. A signature that was not made in time,
 * was dropped, failed, is older than {@code maxAge}, or was made with a key that no longer signs
 * is not used: the token call signs as it would have. An entry is taken once, by the code's
 * redemption, whatever its outcome. Signing ahead costs the same CPU as signing at the token call;
 * a code never redeemed costs a signature (sign-ins are what mint codes, and the queue bounds the
 * thread's work to one core).
 */
final class IdTokenPresigner {
  /** A signed id_token, the key that signed it and when. */
  record Signed(String jwt, String kid, Instant at) {}

  private static final int QUEUED = 0;
  private static final int SIGNING = 1;
  private static final int DONE = 2;
  private static final int TAKEN = 3;

  /** One code's signature: queued, being signed, done, or taken by the token call first. */
  static final class Slot {
    private final AtomicInteger state = new AtomicInteger(QUEUED);
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Signed signed;

    void sign(Supplier<Signed> signer) {
      if (!state.compareAndSet(QUEUED, SIGNING)) {
        return; // the token call came first and signs itself
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
      return state.get() == DONE && signed != null;
    }

    /** The signature if made or being made (waits up to {@code wait} for it), else empty. */
    Optional<Signed> take(Duration wait) {
      if (state.compareAndSet(QUEUED, TAKEN)) {
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

  IdTokenPresigner(Clock clock, int capacity, Duration maxAge) {
    this.clock = clock;
    this.maxAge = maxAge;
    this.slots = ExpiringTable.<String, Slot>builder(clock, capacity).build();
    this.signer = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
        r -> {
          Thread t = new Thread(r, "halo-authz-id-token");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
    this.signer.allowCoreThreadTimeOut(true);
  }

  /** Starts signing {@code code}'s id_token; nothing happens if the table or queue is full. */
  void offer(String codeKey, Instant codeExpires, Supplier<Signed> sign) {
    Slot slot = new Slot();
    if (slots.putIfAbsent(codeKey, slot, codeExpires) != ExpiringTable.Put.ADDED) {
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
   * {@code maxAge} ago; the entry is gone afterwards whatever the answer.
   */
  Optional<String> take(String codeKey, String currentKid) {
    Optional<Slot> slot = slots.remove(codeKey);
    if (slot.isEmpty()) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    return slot.get().take(Duration.ofMillis(50))
        .filter(s -> s.kid().equals(currentKid))
        .filter(s -> !s.at().plus(maxAge).isBefore(now) && !s.at().isAfter(now))
        .map(Signed::jwt);
  }

  /** Forgets a code's entry (its redemption failed before the token call got to it). */
  void forget(String codeKey) {
    slots.remove(codeKey);
  }

  /** Whether the code's signature is made and not yet taken. */
  boolean signed(String codeKey) {
    return slots.get(codeKey).map(Slot::signed).orElse(false);
  }

  int size() {
    return slots.size();
  }
}
