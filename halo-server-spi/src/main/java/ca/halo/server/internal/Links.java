package ca.halo.server.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.DomainResource;
import org.hl7.fhir.r4.model.Property;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * The references of a resource, found by walking its elements only, and the in-memory links HAPI's
 * parser puts on them. A Bundle parser links a reference between entries to the other entry's
 * resource object. HAPI's terser follows such links into resources without an id, and visits a
 * resource once per path to it, so a chain of entries each naming the next twice costs 2^n
 * visits; HAPI's encoder contains a linked resource that has no id. This walk never follows a
 * link (a link is not an element), so it costs one visit per element.
 */
public final class Links {
  private Links() {}

  /** Every {@link Reference} element of {@code r}, its contained resources' included. */
  public static List<Reference> references(Resource r) {
    List<Reference> out = new ArrayList<>();
    walk(r, out);
    return out;
  }

  /**
   * Whether a reference of {@code r} holds a resource object other than one of {@code r}'s own
   * contained resources.
   */
  public static boolean linked(Resource r) {
    Set<Resource> own = own(r);
    for (Reference ref : references(r)) {
      if (ref.getResource() != null && !own.contains(ref.getResource())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Cuts every link of {@code r}'s references to a resource object other than one of its own
   * contained resources, so that the reference's text is what counts (and what HAPI writes).
   * Changes {@code r} only, never the objects linked. Returns {@link #references(Resource)}, so
   * a caller that needs them does not walk {@code r} again.
   */
  public static List<Reference> cut(Resource r) {
    Set<Resource> own = own(r);
    List<Reference> refs = references(r);
    for (Reference ref : refs) {
      if (ref.getResource() != null && !own.contains(ref.getResource())) {
        ref.setResource(null);
      }
    }
    return refs;
  }

  private static Set<Resource> own(Resource r) {
    Set<Resource> own = Collections.newSetFromMap(new IdentityHashMap<>());
    if (r instanceof DomainResource && ((DomainResource) r).hasContained()) { // (getContained() would add a list)
      own.addAll(((DomainResource) r).getContained());
    }
    return own;
  }

  private static void walk(Base root, List<Reference> out) {
    Deque<Base> todo = new ArrayDeque<>();
    todo.push(root);
    while (!todo.isEmpty()) {
      Base b = todo.pop();
      if (b instanceof Reference) {
        out.add((Reference) b);
      }
      for (Property p : b.children()) {
        if (p.hasValues()) {
          for (Base v : p.getValues()) {
            if (v != null) {
              todo.push(v);
            }
          }
        }
      }
    }
  }
}
