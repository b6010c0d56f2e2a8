package ca.halo.server.authz;

import java.util.List;
import java.util.Optional;

/**
 * Where the authorization server keeps its signing keys, so that every node signs and validates
 * with the same keys and a restart invalidates no token. {@link InMemorySigningKeyStore} is the
 * single-node default (a new key at every start); a shared store persists them.
 *
 * <p>The keys are private keys: a store keeps them as secret as the database it lives in (or a
 * jurisdiction implements this over its key vault). Each method is atomic; implementations are
 * thread-safe.
 */
public interface SigningKeyStore {
  /** Every key kept, newest (latest {@code activeFrom}) first. */
  List<SigningKey> keys();

  /**
   * Adds {@code next} if the newest key kept is still {@code expectedNewest} (by key id; empty:
   * no key at all): the compare-and-set that lets several nodes rotate at once and add one key.
   *
   * @return whether {@code next} was added
   */
  boolean addIfNewest(SigningKey next, Optional<String> expectedNewest);

  /** Deletes {@code kid} (a key no token can still need). */
  void remove(String kid);

  /** The newest key, if any. */
  default Optional<SigningKey> newest() {
    List<SigningKey> all = keys();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
  }
}
