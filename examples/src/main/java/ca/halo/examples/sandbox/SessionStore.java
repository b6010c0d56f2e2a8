package ca.halo.examples.sandbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The in-memory sessions of a sandbox page: random ids, an idle timeout and a size cap.
 *
 * <p>Anyone can start a session (a sign-in or a launch in progress), so when the store is full the
 * least recently used session that is not yet signed in makes room; signed-in sessions are never
 * pushed out by new ones, and when only those are left, {@link #add} refuses. Expired and evicted
 * sessions go to {@code onEnd} (on the calling thread, outside any lock) so the page can tidy up
 * what they hold on other servers.
 *
 * <p>Thread-safe. A product keeps sessions in its own session store (shared across instances)
 * instead.
 */
final class SessionStore<S> {
  private final Clock clock;
  private final Duration idleTimeout;
  private final int max;
  private final Predicate<S> signedIn;
  private final Consumer<S> onEnd;
  private final Map<String, Entry<S>> entries = new ConcurrentHashMap<>();

  private static final class Entry<S> {
    final S value;
    volatile Instant lastSeen;

    Entry(S value, Instant now) {
      this.value = value;
      this.lastSeen = now;
    }
  }

  SessionStore(Clock clock, Duration idleTimeout, int max, Predicate<S> signedIn, Consumer<S> onEnd) {
    if (max < 1 || idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("a session store needs room for one session and a positive idle timeout");
    }
    this.clock = Objects.requireNonNull(clock);
    this.idleTimeout = idleTimeout;
    this.max = max;
    this.signedIn = Objects.requireNonNull(signedIn);
    this.onEnd = Objects.requireNonNull(onEnd);
  }

  /** The live session of {@code id}, marked as just used; empty for an unknown or expired id. */
  Optional<S> get(String id) {
    Entry<S> e = id == null ? null : entries.get(id);
    if (e == null) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    if (expired(e, now)) {
      if (entries.remove(id, e)) {
        onEnd.accept(e.value);
      }
      return Optional.empty();
    }
    e.lastSeen = now;
    return Optional.of(e.value);
  }

  /** Stores {@code s} under a fresh id; empty when the store is full of signed-in sessions. */
  Optional<String> add(S s) {
    Objects.requireNonNull(s);
    List<S> ended = new ArrayList<>();
    String id = null;
    synchronized (this) {
      Instant now = clock.instant();
      entries.entrySet().removeIf(e -> expired(e.getValue(), now) && ended.add(e.getValue().value));
      if (entries.size() >= max) {
        entries.entrySet().stream().filter(e -> !signedIn.test(e.getValue().value))
            .min(Comparator.comparing(e -> e.getValue().lastSeen))
            .ifPresent(e -> {
              entries.remove(e.getKey());
              ended.add(e.getValue().value);
            });
      }
      if (entries.size() < max) {
        id = Html.newId();
        entries.put(id, new Entry<>(s, now));
      }
    }
    ended.forEach(onEnd);
    return Optional.ofNullable(id);
  }

  /**
   * Moves the session of {@code oldId} to a fresh id (at sign-in, against session fixation): the
   * old id stops working at once. Empty if {@code oldId} is not a live session.
   */
  synchronized Optional<String> rotate(String oldId) {
    Entry<S> e = oldId == null ? null : entries.remove(oldId);
    if (e == null) {
      return Optional.empty();
    }
    String id = Html.newId();
    e.lastSeen = clock.instant();
    entries.put(id, e);
    return Optional.of(id);
  }

  /** Forgets {@code id} (its session does not go to {@code onEnd}: the caller ends it). */
  void remove(String id) {
    if (id != null) {
      entries.remove(id);
    }
  }

  int size() {
    return entries.size();
  }

  private boolean expired(Entry<S> e, Instant now) {
    return !now.isBefore(e.lastSeen.plus(idleTimeout));
  }
}
