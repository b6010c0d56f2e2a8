package ca.halo.server.catalog;

import ca.halo.core.catalog.AppListing;
import ca.halo.server.authz.ClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import java.net.URI;
import java.util.Optional;

/**
 * Feeds the authorization server from the App Catalog: an active listing with a {@code clientId}
 * becomes a registered client (its redirect URIs, scopes, launch URL and {@code appID}), so one
 * catalog entry makes an app launchable. A public listing becomes a public client; a confidential
 * one needs its public keys in the listing's {@code jwks} field ({@code private_key_jwt}).
 * Suspended and retired apps cannot be launched. Thread-safe.
 */
public final class CatalogClientRegistry implements ClientRegistry {
  private final AppCatalogRepository catalog;

  public CatalogClientRegistry(AppCatalogRepository catalog) {
    this.catalog = catalog;
  }

  @Override
  public Optional<RegisteredClient> find(String clientId) {
    if (clientId == null) {
      return Optional.empty();
    }
    for (AppListing a : catalog.all()) {
      if (a.isActive() && a.clientId().filter(clientId::equals).isPresent()) {
        return toClient(a);
      }
    }
    return Optional.empty();
  }

  static Optional<RegisteredClient> toClient(AppListing a) {
    RegisteredClient.Builder b = RegisteredClient.builder(a.clientId().orElseThrow())
        .name(a.name()).appId(a.id()).allowedScopes(a.scopes());
    a.launchUrl().ifPresent(b::launchUrl);
    for (URI u : a.redirectUris()) {
      b.redirectUri(u);
    }
    if (a.clientType().equals("confidential")) {
      Optional<String> jwks = a.extension("jwks");
      if (jwks.isEmpty()) {
        return Optional.empty(); // no way to authenticate it: not launchable
      }
      b.type(RegisteredClient.Type.CONFIDENTIAL_ASYMMETRIC).jwksJson(jwks.get());
    }
    try {
      return Optional.of(b.build());
    } catch (IllegalStateException e) {
      return Optional.empty();
    }
  }
}
