package ca.halo.server.catalog;

import ca.halo.core.HaloParseException;
import ca.halo.core.catalog.AppListing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An {@link AppCatalogRepository} held in memory, loaded from a JSON array of listings (or
 * {@code {"apps": [...]}}). A malformed file is refused whole, with a message naming the entry and
 * field. Thread-safe; {@link #replaceAll(List)} swaps the whole catalog atomically.
 */
public final class InMemoryAppCatalogRepository implements AppCatalogRepository {
  private volatile Map<String, AppListing> byId = Map.of();

  public InMemoryAppCatalogRepository(List<AppListing> listings) {
    replaceAll(listings);
  }

  /** @throws HaloParseException naming the entry and field at fault */
  public static InMemoryAppCatalogRepository fromJson(String json) {
    return new InMemoryAppCatalogRepository(AppListing.parseList(json));
  }

  public static InMemoryAppCatalogRepository fromFile(Path file) throws IOException {
    return fromJson(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** @throws HaloParseException if two listings share an id */
  public void replaceAll(List<AppListing> listings) {
    Map<String, AppListing> m = new LinkedHashMap<>();
    for (AppListing a : listings) {
      if (m.put(a.id(), a) != null) {
        throw new HaloParseException("app catalog: id '" + a.id() + "' appears twice");
      }
    }
    byId = java.util.Collections.unmodifiableMap(m);
  }

  @Override
  public List<AppListing> all() {
    return List.copyOf(byId.values());
  }

  @Override
  public Optional<AppListing> find(String id) {
    return Optional.ofNullable(byId.get(id));
  }
}
