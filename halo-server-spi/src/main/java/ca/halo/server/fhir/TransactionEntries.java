package ca.halo.server.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.halo.server.internal.Links;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Bundle.HTTPVerb;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * The first step of a transaction, the same for every repository of this SDK and done before
 * any store is touched: checks each entry (a method, a resource where one is needed, a
 * {@code Type/id} URL for PUT and DELETE, no resource named twice, no {@code fullUrl} twice), gives
 * each POSTed resource its new id, and rewrites the references between entries to those ids (a
 * {@code urn:} reference that names no entry is refused). Works on the copy it is given.
 */
public final class TransactionEntries {
  private TransactionEntries() {}

  /**
   * Prepares {@code work} in place; returns the resources that its PUT and DELETE entries name,
   * each as {@code Type/id}.
   *
   * @throws FhirRepositoryException 400 naming the entry at fault
   */
  public static Set<String> prepare(FhirContext ctx, Bundle work, Supplier<String> newId) {
    Map<String, String> newRefs = new LinkedHashMap<>();
    Set<String> targets = new HashSet<>();
    for (int i = 0; i < work.getEntry().size(); i++) {
      BundleEntryComponent e = work.getEntry().get(i);
      String where = "Bundle.entry[" + i + "]";
      if (!e.hasRequest() || e.getRequest().getMethod() == null) {
        throw new FhirRepositoryException(400, where + ".request", "entry has no request.method");
      }
      HTTPVerb m = e.getRequest().getMethod();
      if ((m == HTTPVerb.POST || m == HTTPVerb.PUT) && !e.hasResource()) {
        throw new FhirRepositoryException(400, where + ".resource", "entry has no resource");
      }
      if (m == HTTPVerb.POST) {
        Resource r = e.getResource();
        String id = newId.get();
        if (e.hasFullUrl()) {
          if (newRefs.containsKey(e.getFullUrl())) {
            throw new FhirRepositoryException(400, where + ".fullUrl",
                "fullUrl " + e.getFullUrl() + " appears twice");
          }
          newRefs.put(e.getFullUrl(), r.fhirType() + "/" + id);
        }
        r.setId(id);
      } else if (m == HTTPVerb.PUT) {
        String[] parts = typeAndId(e.getRequest().getUrl());
        if (parts == null || !parts[0].equals(e.getResource().fhirType())) {
          throw new FhirRepositoryException(400, where + ".request.url",
              "PUT needs request.url Type/id matching the resource");
        }
        e.getResource().setId(parts[1]);
        named(targets, parts, where);
      } else if (m == HTTPVerb.DELETE) {
        String[] parts = typeAndId(e.getRequest().getUrl());
        if (parts == null) {
          throw new FhirRepositoryException(400, where + ".request.url",
              "DELETE needs request.url Type/id");
        }
        named(targets, parts, where);
      } else {
        throw new FhirRepositoryException(400, where + ".request.method",
            "method " + m.toCode() + " is not supported in a transaction here");
      }
    }
    for (int i = 0; i < work.getEntry().size(); i++) {
      BundleEntryComponent e = work.getEntry().get(i);
      if (!e.hasResource()) {
        continue;
      }
      // the parser links references between entries to the entries' objects: a linked resource
      // would be stored as a contained copy, and HAPI's terser would follow the links (2^n visits
      // for a chain of entries each naming the next twice); the text is what counts
      for (Reference ref : Links.cut(e.getResource())) {
        String target = ref.getReference();
        if (target == null) {
          continue;
        }
        if (newRefs.containsKey(target)) {
          ref.setReference(newRefs.get(target));
        } else if (target.startsWith("urn:uuid:") || target.startsWith("urn:oid:")) {
          throw new FhirRepositoryException(400, "Bundle.entry[" + i + "].resource",
              "reference " + target + " names no entry of this Bundle");
        }
      }
    }
    return targets;
  }

  /** {@code Type/id} as its two non-empty parts, or null. */
  public static String[] typeAndId(String url) {
    String[] parts = url == null ? new String[0] : url.split("/");
    return parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty() ? parts : null;
  }

  /**
   * Records the resource an entry names, as {@code Type/id}: the URLs {@code Observation/x} and
   * {@code Observation/x/} name one resource (found by the attacker's review of issue 18: named
   * twice, the second write of one transaction undid the first's index entries).
   */
  private static void named(Set<String> targets, String[] typeAndId, String where) {
    if (!targets.add(typeAndId[0] + "/" + typeAndId[1])) {
      throw new FhirRepositoryException(400, where + ".request.url",
          "two entries of one transaction name the same resource");
    }
  }
}
