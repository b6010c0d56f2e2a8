package ca.halo.server.fhir;

import java.util.List;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Resource;

/**
 * Where the SoFA keeps the FHIR resources of its sessions.
 *
 * <p>Implementations are thread-safe and return copies: changing a returned resource never
 * changes what is stored. {@link InMemoryFhirRepository} is the default; {@link
 * RemoteFhirRepository} forwards to an existing FHIR R4 server.
 *
 * <p>Errors: {@link FhirRepositoryException} with the HTTP status the SoFA should answer.
 *
 * <p>An implementation that keeps the SoFA's own resources shows it behaves as the in-memory one
 * does by extending {@code ca.halo.server.fhir.FhirResourceRepositoryContract} from this
 * artifact's test-jar (versions, searches, all-or-nothing transactions, copies, concurrency).
 */
public interface FhirResourceRepository {
  /**
   * The {@code meta.tag} system that marks a resource as stored in one SoFA launch session (the
   * code is the session id). Repositories keep the tag and can search by it
   * ({@link SearchCriteria#sessionTag()}).
   */
  String SESSION_TAG_SYSTEM = "http://fhir.infoway-inforoute.ca/io/HALO/CodeSystem/sofa-session";

  /**
   * The launch session {@code r} was stored in (the code of its first {@link #SESSION_TAG_SYSTEM}
   * tag); empty for the server's own, untagged data.
   */
  static Optional<String> sessionOf(Resource r) {
    for (Coding c : r.getMeta().getTag()) {
      if (SESSION_TAG_SYSTEM.equals(c.getSystem())) {
        return Optional.ofNullable(c.getCode());
      }
    }
    return Optional.empty();
  }

  /**
   * Marks {@code r} as stored in launch session {@code sessionId}: removes every session tag it
   * carries (only the server names a session: a caller's own tag would plant the resource in
   * another clinician's launch) and adds the one for {@code sessionId}, unless that is
   * {@code null} (the server's own data).
   */
  static void tagSession(Resource r, String sessionId) {
    r.getMeta().getTag().removeIf(c -> SESSION_TAG_SYSTEM.equals(c.getSystem()));
    if (sessionId != null) {
      r.getMeta().addTag(new Coding(SESSION_TAG_SYSTEM, sessionId, "SoFA session")); // as InMemoryFhirRepository expects
    }
  }

  /** The current version, or empty if unknown or deleted. */
  Optional<Resource> read(String type, String id);

  /** A given version, or empty. */
  Optional<Resource> vread(String type, String id, String version);

  /** Stores a new resource under a new id; returns it with id, version and lastUpdated set. */
  Resource create(Resource resource);

  /** Stores a new version of the resource with the id it carries (creates it if unknown). */
  Resource update(Resource resource);

  /**
   * Stores a new version of a resource that exists, in one atomic step: when it does not exist
   * (or was deleted meanwhile) nothing is stored and the answer is empty. The SoFA updates
   * through this, so an update racing {@code $clear-context} can never bring a purged resource
   * back. The default reads, then updates: implementations that can, make it atomic.
   */
  default Optional<Resource> updateExisting(Resource resource) {
    if (read(resource.fhirType(), resource.getIdElement().getIdPart()).isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(update(resource));
  }

  /** Deletes; returns false if there was nothing to delete. */
  boolean delete(String type, String id);

  List<Resource> search(String type, SearchCriteria criteria);

  /**
   * Processes a {@code transaction} Bundle atomically: every entry or none. {@code urn:uuid:}
   * full URLs are given new ids and references to them are rewritten.
   *
   * @return the {@code transaction-response} Bundle, entries in request order, each with
   *     {@code response.location}, {@code etag} and {@code lastModified}
   */
  Bundle transaction(Bundle transaction);
}
