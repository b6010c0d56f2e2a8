package ca.halo.server.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.util.FhirTerser;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Bundle.HTTPVerb;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * The default {@link FhirResourceRepository}: versioned resources in memory, stored as compact
 * JSON (so a stored resource can never be changed through a returned object), with indexes for
 * the patient compartment, encounter and session tag.
 *
 * <p>Thread-safe: reads run in parallel; writes and transactions take one write lock, which is
 * what makes a transaction atomic. Bounded to {@code maxResources} live resources; past that a
 * write fails with 503. Contents are lost on restart.
 */
public final class InMemoryFhirRepository implements FhirResourceRepository {
  /** The meta.tag system the SoFA uses to mark a session's resources. */
  public static final String SESSION_TAG_SYSTEM = FhirResourceRepository.SESSION_TAG_SYSTEM;

  private final FhirContext ctx;
  private final Clock clock;
  private final int maxResources;
  private final SecureRandom random = new SecureRandom();
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  private final Map<String, Stored> byKey = new HashMap<>();
  private final Map<String, Map<String, Stored>> byType = new HashMap<>();
  private final Map<String, Set<String>> byPatient = new HashMap<>();
  private final Map<String, Set<String>> bySession = new HashMap<>();
  private final ThreadLocal<IParser> parsers;

  public InMemoryFhirRepository(FhirContext ctx, Clock clock, int maxResources) {
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxResources <= 0) {
      throw new IllegalArgumentException("maxResources must be positive");
    }
    this.maxResources = maxResources;
    this.parsers = ThreadLocal.withInitial(ctx::newJsonParser);
  }

  public InMemoryFhirRepository(FhirContext ctx) {
    this(ctx, Clock.systemUTC(), 1_000_000);
  }

  /** One stored resource: every version's JSON, plus what the indexes need. */
  private static final class Stored {
    final String type;
    final String id;
    /** Every version as UTF-8 JSON: about half the size of a String for accented names. */
    final List<byte[]> versions = new ArrayList<>(1);
    Instant lastUpdated;
    boolean deleted;
    String patient;
    String encounter;
    List<String> identifiers = List.of();
    List<String> sessions = List.of();

    Stored(String type, String id) {
      this.type = type;
      this.id = id;
    }
  }

  @Override
  public Optional<Resource> read(String type, String id) {
    lock.readLock().lock();
    try {
      Stored s = byKey.get(type + "/" + id);
      if (s == null || s.deleted) {
        return Optional.empty();
      }
      return Optional.of(parse(s.versions.get(s.versions.size() - 1)));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Optional<Resource> vread(String type, String id, String version) {
    lock.readLock().lock();
    try {
      Stored s = byKey.get(type + "/" + id);
      int v;
      try {
        v = Integer.parseInt(version);
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
      if (s == null || v < 1 || v > s.versions.size()) {
        return Optional.empty();
      }
      return Optional.of(parse(s.versions.get(v - 1)));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Resource create(Resource resource) {
    lock.writeLock().lock();
    try {
      checkCapacity(1);
      Resource copy = resource.copy();
      copy.setId(newId());
      return put(copy);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public Resource update(Resource resource) {
    if (!resource.getIdElement().hasIdPart()) {
      throw new FhirRepositoryException(400, resource.fhirType(), "update needs a resource id");
    }
    lock.writeLock().lock();
    try {
      if (!byKey.containsKey(key(resource))) {
        checkCapacity(1);
      }
      Resource copy = resource.copy();
      copy.setId(resource.getIdElement().getIdPart());
      return put(copy);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public boolean delete(String type, String id) {
    lock.writeLock().lock();
    try {
      Stored s = byKey.remove(type + "/" + id);
      if (s == null) {
        return false;
      }
      unindex(s);
      Map<String, Stored> t = byType.get(type);
      if (t != null) {
        t.remove(id);
      }
      return true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public List<Resource> search(String type, SearchCriteria c) {
    lock.readLock().lock();
    try {
      Iterable<Stored> candidates;
      if (c.id().isPresent()) {
        Stored s = byKey.get(type + "/" + c.id().get());
        candidates = s == null ? List.of() : List.of(s);
      } else if (c.patient().isPresent()) {
        candidates = lookup(byPatient.get(c.patient().get()));
      } else if (c.sessionTag().isPresent()) {
        candidates = lookup(bySession.get(c.sessionTag().get()));
      } else {
        candidates = byType.getOrDefault(type, Map.of()).values();
      }
      List<Resource> out = new ArrayList<>();
      for (Stored s : candidates) {
        if (s.type.equals(type) && !s.deleted && matches(s, c)) {
          out.add(parse(s.versions.get(s.versions.size() - 1)));
        }
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  private List<Stored> lookup(Set<String> keys) {
    List<Stored> out = new ArrayList<>();
    if (keys != null) {
      for (String k : keys) {
        Stored s = byKey.get(k);
        if (s != null) {
          out.add(s);
        }
      }
    }
    return out;
  }

  private static boolean matches(Stored s, SearchCriteria c) {
    if (c.id().isPresent() && !c.id().get().equals(s.id)) {
      return false;
    }
    if (c.patient().isPresent() && !c.patient().get().equals(s.patient)) {
      return false;
    }
    if (c.encounter().isPresent() && !c.encounter().get().equals(s.encounter)) {
      return false;
    }
    if (c.sessionTag().isPresent() && !s.sessions.contains(c.sessionTag().get())) {
      return false;
    }
    if (c.identifierValue().isPresent()) {
      String v = c.identifierValue().get();
      String sys = c.identifierSystem().orElse(null);
      boolean hit = s.identifiers.stream().anyMatch(i -> sys == null
          ? i.endsWith("|" + v) : i.equals(sys + "|" + v));
      if (!hit) {
        return false;
      }
    }
    if (c.lastUpdatedFrom().isPresent() && s.lastUpdated.isBefore(c.lastUpdatedFrom().get())) {
      return false;
    }
    return c.lastUpdatedTo().isEmpty() || !s.lastUpdated.isAfter(c.lastUpdatedTo().get());
  }

  @Override
  public Bundle transaction(Bundle tx) {
    if (tx.getType() != Bundle.BundleType.TRANSACTION) {
      throw new FhirRepositoryException(400, "Bundle.type",
          "expected a Bundle of type transaction, got " + tx.getType());
    }
    Bundle work = tx.copy();
    lock.writeLock().lock();
    try {
      // 1. validate every entry and assign ids before anything is written
      Map<String, String> newRefs = new LinkedHashMap<>();
      int creates = 0;
      for (int i = 0; i < work.getEntry().size(); i++) {
        BundleEntryComponent e = work.getEntry().get(i);
        String where = "Bundle.entry[" + i + "]";
        if (!e.hasRequest() || e.getRequest().getMethod() == null) {
          throw new FhirRepositoryException(400, where + ".request", "entry has no request.method");
        }
        HTTPVerb m = e.getRequest().getMethod();
        if (m == HTTPVerb.POST || m == HTTPVerb.PUT) {
          if (!e.hasResource()) {
            throw new FhirRepositoryException(400, where + ".resource", "entry has no resource");
          }
        }
        if (m == HTTPVerb.POST) {
          creates++;
          Resource r = e.getResource();
          String id = newId();
          String ref = r.fhirType() + "/" + id;
          if (e.hasFullUrl()) {
            if (newRefs.containsKey(e.getFullUrl())) {
              throw new FhirRepositoryException(400, where + ".fullUrl",
                  "fullUrl " + e.getFullUrl() + " appears twice");
            }
            newRefs.put(e.getFullUrl(), ref);
          }
          r.setId(id);
        } else if (m == HTTPVerb.PUT) {
          String url = e.getRequest().getUrl();
          String[] parts = url == null ? new String[0] : url.split("/");
          if (parts.length != 2 || !parts[0].equals(e.getResource().fhirType())) {
            throw new FhirRepositoryException(400, where + ".request.url",
                "PUT needs request.url Type/id matching the resource");
          }
          e.getResource().setId(parts[1]);
          if (!byKey.containsKey(url)) {
            creates++;
          }
        } else if (m == HTTPVerb.DELETE) {
          String url = e.getRequest().getUrl();
          if (url == null || url.split("/").length != 2) {
            throw new FhirRepositoryException(400, where + ".request.url",
                "DELETE needs request.url Type/id");
          }
        } else {
          throw new FhirRepositoryException(400, where + ".request.method",
              "method " + m.toCode() + " is not supported in a transaction here");
        }
      }
      checkCapacity(creates);
      // 2. rewrite references to entries of this Bundle; refuse dangling urn:uuid references
      FhirTerser terser = ctx.newTerser();
      for (int i = 0; i < work.getEntry().size(); i++) {
        BundleEntryComponent e = work.getEntry().get(i);
        if (!e.hasResource()) {
          continue;
        }
        for (Reference ref : terser.getAllPopulatedChildElementsOfType(e.getResource(), Reference.class)) {
          String target = ref.getReference();
          if (target == null) {
            continue;
          }
          if (newRefs.containsKey(target)) {
            ref.setReference(newRefs.get(target));
            ref.setResource(null); // the parser links entries; a linked resource would be contained
          } else if (target.startsWith("urn:uuid:") || target.startsWith("urn:oid:")) {
            throw new FhirRepositoryException(400, "Bundle.entry[" + i + "].resource",
                "reference " + target + " names no entry of this Bundle");
          }
        }
      }
      // 3. write: nothing below can fail for a reason the checks above did not cover
      Bundle response = new Bundle();
      response.setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      for (BundleEntryComponent e : work.getEntry()) {
        Bundle.BundleEntryResponseComponent rc = response.addEntry().getResponse();
        HTTPVerb m = e.getRequest().getMethod();
        if (m == HTTPVerb.DELETE) {
          String[] parts = e.getRequest().getUrl().split("/");
          boolean existed = delete(parts[0], parts[1]);
          rc.setStatus(existed ? "204 No Content" : "404 Not Found");
          continue;
        }
        boolean existed = m == HTTPVerb.PUT && byKey.containsKey(key(e.getResource()));
        Resource stored = put(e.getResource());
        rc.setStatus(existed ? "200 OK" : "201 Created");
        rc.setLocation(stored.fhirType() + "/" + stored.getIdElement().getIdPart() + "/_history/"
            + stored.getMeta().getVersionId());
        rc.setEtag("W/\"" + stored.getMeta().getVersionId() + "\"");
        rc.setLastModified(stored.getMeta().getLastUpdated());
      }
      return response;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Live resource count. */
  public int size() {
    lock.readLock().lock();
    try {
      return byKey.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- internals: callers hold the write lock

  private Resource put(Resource r) {
    String type = r.fhirType();
    String id = r.getIdElement().getIdPart();
    Stored s = byKey.get(type + "/" + id);
    if (s == null) {
      s = new Stored(type, id);
      byKey.put(type + "/" + id, s);
      byType.computeIfAbsent(type, k -> new HashMap<>()).put(id, s);
    } else {
      unindex(s);
    }
    Instant now = clock.instant();
    int version = s.versions.size() + 1;
    r.setIdElement(r.getIdElement().withVersion(null));
    r.setId(type + "/" + id);
    r.getMeta().setVersionId(Integer.toString(version));
    r.getMeta().setLastUpdated(Date.from(now));
    String json;
    try {
      json = parsers.get().encodeResourceToString(r);
    } catch (DataFormatException e) {
      throw new FhirRepositoryException(422, type, "cannot store resource: " + e.getMessage());
    }
    s.versions.add(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    s.lastUpdated = now;
    s.deleted = false;
    s.patient = PatientCompartment.patientOf(ctx, r).orElse(null);
    s.encounter = PatientCompartment.encounterOf(ctx, r).orElse(null);
    List<String> ids = new ArrayList<>();
    if (ctx.getResourceDefinition(r).getChildByName("identifier") != null) {
      for (Object o : ctx.getResourceDefinition(r).getChildByName("identifier").getAccessor()
          .getValues(r)) {
        Identifier i = (Identifier) o;
        ids.add((i.hasSystem() ? i.getSystem() : "") + "|" + i.getValue());
      }
    }
    s.identifiers = ids;
    List<String> sessions = new ArrayList<>();
    for (Coding tag : r.getMeta().getTag()) {
      if (SESSION_TAG_SYSTEM.equals(tag.getSystem())) {
        sessions.add(tag.getCode());
      }
    }
    s.sessions = sessions;
    index(s);
    Resource out = parse(json);
    return out;
  }

  private void index(Stored s) {
    String k = s.type + "/" + s.id;
    if (s.patient != null) {
      byPatient.computeIfAbsent(s.patient, x -> new java.util.HashSet<>(4)).add(k);
    }
    for (String session : s.sessions) {
      bySession.computeIfAbsent(session, x -> new java.util.HashSet<>(8)).add(k);
    }
  }

  private void unindex(Stored s) {
    String k = s.type + "/" + s.id;
    if (s.patient != null) {
      Set<String> set = byPatient.get(s.patient);
      if (set != null && set.remove(k) && set.isEmpty()) {
        byPatient.remove(s.patient);
      }
    }
    for (String session : s.sessions) {
      Set<String> set = bySession.get(session);
      if (set != null && set.remove(k) && set.isEmpty()) {
        bySession.remove(session);
      }
    }
  }

  private void checkCapacity(int more) {
    if (byKey.size() + more > maxResources) {
      throw new FhirRepositoryException(503, "repository",
          "the SoFA holds its maximum of " + maxResources + " resources; retry later");
    }
  }

  private static String key(Resource r) {
    return r.fhirType() + "/" + r.getIdElement().getIdPart();
  }

  /** 96 random bits as 24 hex digits: a valid FHIR id ([A-Za-z0-9-.]{1,64}). */
  private String newId() {
    byte[] b = new byte[12];
    random.nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  private Resource parse(String json) {
    return (Resource) parsers.get().parseResource(json);
  }

  private Resource parse(byte[] json) {
    return (Resource) parsers.get().parseResource(
        new java.io.InputStreamReader(new java.io.ByteArrayInputStream(json), java.nio.charset.StandardCharsets.UTF_8));
  }
}
