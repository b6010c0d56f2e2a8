package ca.halo.sofa;

import java.util.Objects;
import java.util.Optional;

/**
 * Where the SoFA stored an uploaded resource: its type, SoFA id and version.
 *
 * <p>Immutable and thread-safe.
 */
public final class SofaResourceId {
  private final String type;
  private final String id;
  private final String version;

  SofaResourceId(String type, String id, String version) {
    this.type = Objects.requireNonNull(type);
    this.id = Objects.requireNonNull(id);
    this.version = version;
  }

  /** Parses a transaction-response location, {@code Type/id/_history/v}. */
  static SofaResourceId fromLocation(String location) {
    String[] p = location.split("/");
    if (p.length < 2) {
      throw new ca.halo.core.HaloParseException(
          "resourcesResponse entry location '" + location + "' is not Type/id[/_history/v]");
    }
    int n = p.length;
    if (n >= 4 && p[n - 2].equals("_history")) {
      return new SofaResourceId(p[n - 4], p[n - 3], p[n - 1]);
    }
    return new SofaResourceId(p[n - 2], p[n - 1], null);
  }

  public String type() { return type; }
  public String id() { return id; }
  /** The version the SoFA assigned (usually "1"); empty when its location named none. */
  public Optional<String> version() { return Optional.ofNullable(version); }
  /** {@code Type/id}. */
  public String reference() { return type + "/" + id; }

  @Override
  public boolean equals(Object o) {
    return o instanceof SofaResourceId && ((SofaResourceId) o).type.equals(type)
        && ((SofaResourceId) o).id.equals(id) && Objects.equals(((SofaResourceId) o).version, version);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, id, version);
  }

  @Override
  public String toString() {
    return reference() + (version == null ? "" : "/_history/" + version);
  }
}
