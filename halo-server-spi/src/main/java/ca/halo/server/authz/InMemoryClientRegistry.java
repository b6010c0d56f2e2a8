package ca.halo.server.authz;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** A {@link ClientRegistry} in a concurrent map. Thread-safe. */
public final class InMemoryClientRegistry implements ClientRegistry {
  private final Map<String, RegisteredClient> clients = new ConcurrentHashMap<>();

  public InMemoryClientRegistry register(RegisteredClient c) {
    clients.put(c.clientId(), c);
    return this;
  }

  public void remove(String clientId) {
    clients.remove(clientId);
  }

  @Override
  public Optional<RegisteredClient> find(String clientId) {
    return clientId == null ? Optional.empty() : Optional.ofNullable(clients.get(clientId));
  }

  public Collection<RegisteredClient> all() {
    return List.copyOf(clients.values());
  }

  /** A registry that asks each in turn; the first that knows the client wins. */
  public static ClientRegistry firstOf(ClientRegistry... registries) {
    ClientRegistry[] copy = registries.clone();
    return id -> {
      for (ClientRegistry r : copy) {
        Optional<RegisteredClient> c = r.find(id);
        if (c.isPresent()) {
          return c;
        }
      }
      return Optional.empty();
    };
  }
}
