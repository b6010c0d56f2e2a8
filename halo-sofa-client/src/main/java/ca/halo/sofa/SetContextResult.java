package ca.halo.sofa;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

/**
 * The answer to {@code $set-context}: the {@code launchID} to pass to the app, and where the
 * SoFA stored each uploaded resource.
 *
 * <pre>{@code
 * SetContextResult r = sofa.setContext(req);
 * URI launch = sofa.launchUrl(app.launchUrl(), r.launchId());
 * SofaResourceId p = r.sofaId(patient).orElseThrow();  // keep: write-backs name SoFA ids
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} never prints the launch id (it is a bearer
 * secret until used).
 */
public final class SetContextResult {
  private final String launchId;
  private final Map<String, SofaResourceId> idMap;
  private final Bundle resourcesResponse;
  private final java.util.IdentityHashMap<Resource, SofaResourceId> byObject;

  SetContextResult(String launchId, Map<String, SofaResourceId> idMap, Bundle resourcesResponse,
      java.util.IdentityHashMap<Resource, SofaResourceId> byObject) {
    this.launchId = Objects.requireNonNull(launchId);
    this.idMap = Map.copyOf(idMap);
    this.resourcesResponse = resourcesResponse;
    this.byObject = new java.util.IdentityHashMap<>(byObject);
  }

  public String launchId() {
    return launchId;
  }

  /**
   * Local key → SoFA id. The key of an uploaded resource is its local reference
   * ({@code Patient/pat-123}) when it had an id, otherwise {@code Type?identifier=system|value}
   * from its first identifier, otherwise {@code Type#n} (its position among the uploads).
   */
  public Map<String, SofaResourceId> idMap() {
    return idMap;
  }

  /** The SoFA id of an uploaded resource (the same object given to the request). */
  public Optional<SofaResourceId> sofaId(Resource uploaded) {
    return Optional.ofNullable(byObject.get(uploaded));
  }

  /** The local key whose SoFA id is {@code sofaReference} ({@code Observation/abc}). */
  public Optional<String> localKeyOf(String sofaReference) {
    return idMap.entrySet().stream().filter(e -> e.getValue().reference().equals(sofaReference))
        .map(Map.Entry::getKey).findFirst();
  }

  /** The SoFA's transaction-response Bundle, when resources were uploaded. */
  public Optional<Bundle> resourcesResponse() {
    return Optional.ofNullable(resourcesResponse == null ? null : resourcesResponse.copy());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SetContextResult && ((SetContextResult) o).launchId.equals(launchId)
        && ((SetContextResult) o).idMap.equals(idMap);
  }

  @Override
  public int hashCode() {
    return Objects.hash(launchId, idMap);
  }

  @Override
  public String toString() {
    return "SetContextResult{launchId=<redacted>, uploaded=" + idMap.size() + "}";
  }
}
