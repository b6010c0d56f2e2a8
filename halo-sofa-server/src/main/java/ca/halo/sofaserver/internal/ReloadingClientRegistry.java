package ca.halo.sofaserver.internal;

import ca.halo.server.authz.ClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The clients of the clients file; {@link #replaceAll} swaps them all at once. Thread-safe. */
public final class ReloadingClientRegistry implements ClientRegistry {
  private volatile Map<String, RegisteredClient> byId = Map.of();

  public ReloadingClientRegistry(List<RegisteredClient> clients) {
    replaceAll(clients);
  }

  /** Swaps in {@code clients}; callers see the old set or the new one, never a mix. */
  public void replaceAll(List<RegisteredClient> clients) {
    Map<String, RegisteredClient> m = new LinkedHashMap<>();
    for (RegisteredClient c : clients) {
      m.put(c.clientId(), c);
    }
    byId = java.util.Collections.unmodifiableMap(m);
  }

  @Override
  public Optional<RegisteredClient> find(String clientId) {
    return clientId == null ? Optional.empty() : Optional.ofNullable(byId.get(clientId));
  }

  /** The current clients. */
  public List<RegisteredClient> all() {
    return List.copyOf(byId.values());
  }

  @Override
  public String toString() {
    return "ReloadingClientRegistry{" + byId.size() + " clients}";
  }
}
