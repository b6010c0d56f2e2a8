package ca.halo.server.authz;

import java.util.Optional;

/**
 * Where the authorization server looks up clients. The App Catalog supplier implements it so one
 * catalog entry makes an app launchable; {@link InMemoryClientRegistry} is the default.
 * Implementations are thread-safe.
 */
public interface ClientRegistry {
  Optional<RegisteredClient> find(String clientId);
}
