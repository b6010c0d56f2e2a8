package ca.halo.server.fhir;

import ca.halo.server.internal.Links;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.gclient.IQuery;
import ca.uhn.fhir.rest.gclient.ReferenceClientParam;
import ca.uhn.fhir.rest.gclient.TokenClientParam;
import ca.uhn.fhir.rest.gclient.DateClientParam;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

/**
 * A {@link FhirResourceRepository} that forwards to an existing FHIR R4 server through HAPI's
 * generic client: the path for a jurisdiction that already runs a FHIR server, or outgrows one
 * SoFA node. Make the client with {@code ca.halo.core.fhir.FhirClients}, so it carries the
 * SoFA's own credentials.
 *
 * <p>Thread-safe as the generic client is. Atomicity of transactions is the remote server's (FHIR
 * requires it). Errors from the server become {@link FhirRepositoryException} with its status.
 */
public final class RemoteFhirRepository implements FhirResourceRepository {
  private final IGenericClient client;

  public RemoteFhirRepository(IGenericClient client) {
    this.client = Objects.requireNonNull(client, "client");
  }

  @Override
  public Optional<Resource> read(String type, String id) {
    try {
      return Optional.of((Resource) client.read().resource(type).withId(id).execute());
    } catch (ResourceNotFoundException | ResourceGoneException e) {
      return Optional.empty();
    } catch (BaseServerResponseException e) {
      throw wrap(e, type + "/" + id);
    }
  }

  @Override
  public Optional<Resource> vread(String type, String id, String version) {
    try {
      return Optional.of((Resource) client.read().resource(type).withIdAndVersion(id, version)
          .execute());
    } catch (ResourceNotFoundException | ResourceGoneException e) {
      return Optional.empty();
    } catch (BaseServerResponseException e) {
      throw wrap(e, type + "/" + id);
    }
  }

  @Override
  public Resource create(Resource resource) {
    try {
      var outcome = client.create().resource(resource).execute();
      return read(resource.fhirType(), outcome.getId().getIdPart()).orElseThrow();
    } catch (BaseServerResponseException e) {
      throw wrap(e, resource.fhirType());
    }
  }

  @Override
  public Resource update(Resource resource) {
    try {
      client.update().resource(resource).execute();
      return read(resource.fhirType(), resource.getIdElement().getIdPart()).orElseThrow();
    } catch (BaseServerResponseException e) {
      throw wrap(e, resource.fhirType());
    }
  }

  @Override
  public boolean delete(String type, String id) {
    try {
      client.delete().resourceById(type, id).execute();
      return true;
    } catch (ResourceNotFoundException | ResourceGoneException e) {
      return false;
    } catch (BaseServerResponseException e) {
      throw wrap(e, type + "/" + id);
    }
  }

  @Override
  public List<Resource> search(String type, SearchCriteria c) {
    try {
      IQuery<Bundle> q = client.search().forResource(type).returnBundle(Bundle.class);
      c.id().ifPresent(v -> q.where(new TokenClientParam("_id").exactly().code(v)));
      c.patient().ifPresent(v -> q.where(new ReferenceClientParam("patient").hasId(v)));
      c.encounter().ifPresent(v -> q.where(new ReferenceClientParam("encounter").hasId(v)));
      c.identifierValue().ifPresent(v -> q.where(new TokenClientParam("identifier").exactly()
          .systemAndCode(c.identifierSystem().orElse(null), v)));
      c.lastUpdatedFrom().ifPresent(v -> q.where(new DateClientParam("_lastUpdated")
          .afterOrEquals().millis(Date.from(v))));
      c.lastUpdatedTo().ifPresent(v -> q.where(new DateClientParam("_lastUpdated")
          .beforeOrEquals().millis(Date.from(v))));
      c.sessionTag().ifPresent(v -> q.withTag(FhirResourceRepository.SESSION_TAG_SYSTEM, v));
      if (c.limit() < Integer.MAX_VALUE) {
        q.count(Math.min(c.limit(), 1000));
      }
      List<Resource> out = new ArrayList<>();
      Bundle page = q.execute();
      while (page != null) {
        for (Bundle.BundleEntryComponent e : page.getEntry()) {
          if (out.size() >= c.limit()) {
            return out;
          }
          if (c.sessionFilter().test(FhirResourceRepository.sessionOf(e.getResource())
              .orElse(null))) {
            out.add(e.getResource());
          }
        }
        page = page.getLink(Bundle.LINK_NEXT) != null ? client.loadPage().next(page).execute() : null;
      }
      return out;
    } catch (BaseServerResponseException e) {
      throw wrap(e, type);
    }
  }

  /**
   * Forwards {@code transaction} as one request. References between entries reach the server as
   * the entries wrote them: the parser links such a reference to the entry's resource object, and
   * HAPI's encoder would put a copy of that resource inside the referring one and point the
   * reference at the copy (an Encounter would name a contained Patient, not the Patient entry), so
   * a copy with every link cut but those to an entry's own contained resources is sent. The
   * caller's Bundle and the objects it links are left as they are.
   */
  @Override
  public Bundle transaction(Bundle transaction) {
    try {
      return client.transaction().withBundle(unlinked(transaction)).execute();
    } catch (BaseServerResponseException e) {
      throw wrap(e, "Bundle");
    }
  }

  /**
   * {@code tx}, or a copy of it without the links from its entries' references to resource
   * objects other than their own contained ones (found without following any link, so a chain
   * of links costs one visit per element; the objects linked, the caller's, are not touched).
   */
  private static Bundle unlinked(Bundle tx) {
    boolean any = false;
    for (Bundle.BundleEntryComponent e : tx.getEntry()) {
      if (e.hasResource() && Links.linked(e.getResource())) {
        any = true;
        break;
      }
    }
    if (!any) {
      return tx;
    }
    Bundle copy = tx.copy();
    for (Bundle.BundleEntryComponent e : copy.getEntry()) {
      if (e.hasResource()) {
        Links.cut(e.getResource());
      }
    }
    return copy;
  }

  private static FhirRepositoryException wrap(BaseServerResponseException e, String where) {
    return new FhirRepositoryException(e.getStatusCode(), where,
        "the FHIR server behind the SoFA answered " + e.getStatusCode() + ": " + e.getMessage());
  }
}
