package ca.halo.server.sofa.internal;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
import ca.halo.server.security.AccessRules;
import ca.halo.server.security.Principal;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import ca.uhn.fhir.rest.server.method.ResponsePage;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.Resource;

/**
 * HAPI's in-memory paging, held per caller: the later pages of a search are served only to the
 * principal that searched (anyone else is told the search is gone), and each page is checked
 * against {@link AccessRules} again when it is served, so a page fetched after
 * {@code $clear-context} or after the caller lost a session holds nothing of it.
 */
public final class OwnedPagingProvider extends FifoMemoryPagingProvider {
  private final AccessRules access;
  private final int capacity;
  private final Map<String, String> owners;

  public OwnedPagingProvider(int capacity, AccessRules access) {
    super(capacity);
    this.capacity = capacity;
    this.access = access;
    this.owners = new LinkedHashMap<>();
  }

  @Override
  public synchronized String storeResultList(RequestDetails rd, IBundleProvider list) {
    String id = super.storeResultList(rd, list);
    owners.put(id, AuthInterceptor.principal(rd).ownerKey());
    while (owners.size() > capacity) {
      owners.remove(owners.keySet().iterator().next());
    }
    return id;
  }

  @Override
  public synchronized IBundleProvider retrieveResultList(RequestDetails rd, String id) {
    Principal p = AuthInterceptor.principal(rd);
    if (!p.ownerKey().equals(owners.get(id))) {
      return null; // answered as a search that is gone
    }
    IBundleProvider list = super.retrieveResultList(rd, id);
    return list == null ? null : new Checked(list, p, access);
  }

  /** A stored search whose pages are filtered by the access rule when served. */
  private static final class Checked implements IBundleProvider {
    private final IBundleProvider list;
    private final Principal p;
    private final AccessRules access;

    Checked(IBundleProvider list, Principal p, AccessRules access) {
      this.list = list;
      this.p = p;
      this.access = access;
    }

    private List<IBaseResource> filter(List<IBaseResource> in) {
      List<IBaseResource> out = new ArrayList<>(in.size());
      for (IBaseResource r : in) {
        if (r instanceof Resource) {
          SmartScopes.Access a = p.scopes().access(Interaction.SEARCH, r.fhirType());
          if (a != SmartScopes.Access.NONE && access.isLive(p) && access.visible(p, a, (Resource) r)) {
            out.add(r);
          }
        }
      }
      return out;
    }

    @Override
    public IPrimitiveType<Date> getPublished() {
      return list.getPublished();
    }

    @Override
    public String getUuid() {
      return list.getUuid();
    }

    @Override
    public Integer preferredPageSize() {
      return list.preferredPageSize();
    }

    @Override
    public Integer size() {
      return list.size();
    }

    @Override
    public List<IBaseResource> getResources(int from, int to) {
      return filter(list.getResources(from, to));
    }

    @Override
    public List<IBaseResource> getResources(int from, int to,
        ResponsePage.ResponsePageBuilder builder) {
      return filter(list.getResources(from, to, builder));
    }

    @Override
    public String getCurrentPageId() {
      return list.getCurrentPageId();
    }

    @Override
    public String getNextPageId() {
      return list.getNextPageId();
    }

    @Override
    public String getPreviousPageId() {
      return list.getPreviousPageId();
    }

    @Override
    public Integer getCurrentPageOffset() {
      return list.getCurrentPageOffset();
    }

    @Override
    public Integer getCurrentPageSize() {
      return list.getCurrentPageSize();
    }
  }
}
