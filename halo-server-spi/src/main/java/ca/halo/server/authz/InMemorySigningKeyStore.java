package ca.halo.server.authz;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** The default {@link SigningKeyStore}: one node's memory (keys are lost on restart). Thread-safe. */
public final class InMemorySigningKeyStore implements SigningKeyStore {
  private final List<SigningKey> keys = new ArrayList<>();

  @Override
  public synchronized List<SigningKey> keys() {
    List<SigningKey> out = new ArrayList<>(keys);
    out.sort(Comparator.comparing(SigningKey::activeFrom).reversed());
    return out;
  }

  @Override
  public synchronized boolean addIfNewest(SigningKey next, Optional<String> expectedNewest) {
    Optional<String> newest = newest().map(SigningKey::kid);
    if (!newest.equals(expectedNewest) || keys.stream().anyMatch(k -> k.kid().equals(next.kid()))) {
      return false;
    }
    keys.add(next);
    return true;
  }

  @Override
  public synchronized void remove(String kid) {
    keys.removeIf(k -> k.kid().equals(kid));
  }
}
