package ca.halo.server.catalog;

import ca.halo.core.catalog.AppListing;
import java.util.List;
import java.util.Optional;

/**
 * Where the App Catalog supplier reads the jurisdiction's approved apps (HALO CA:AC-1).
 * Implementations are thread-safe; {@link InMemoryAppCatalogRepository} is the default.
 */
public interface AppCatalogRepository {
  /** Every listing, any status, in a stable order. */
  List<AppListing> all();

  Optional<AppListing> find(String id);
}
