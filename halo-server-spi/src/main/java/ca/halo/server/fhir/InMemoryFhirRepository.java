package ca.halo.server.fhir;

import ca.halo.server.internal.FhirJson;
import ca.halo.server.internal.ShardedMap;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Bundle.HTTPVerb;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Resource;

/**
 * The default {@link FhirResourceRepository}: versioned resources in memory, stored as compact
 * JSON (so a stored resource can never be changed through a returned object), with indexes for
 * the patient compartment, encounter and session tag.
 *
 * <p>Bounded three ways: {@code maxResources} live resources, {@code maxBytes} of stored JSON
 * (every kept version counts), and {@code maxVersions} versions per resource (older ones are
 * dropped; {@code vread} of a dropped version finds nothing). A write past a bound fails with 503
 * and changes nothing.
 *
 * <p>Thread-safe: reads run in parallel; writes take one write lock, which is what makes a
 * transaction atomic. A transaction's new resources are checked, linked and encoded before the
 * lock is taken, so readers wait only for the insert itself (linear in the Bundle's size).
 * Contents are lost on restart.
 */
public final class InMemoryFhirRepository implements FhirResourceRepository {
  private final FhirContext ctx;
  private final Clock clock;
  private final int maxResources;
  private final long maxBytes;
  private final int maxVersions;
  private final SecureRandom random = new SecureRandom();
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  // Each live resource is one Stored, reached by type then id; the indexes hold the Stored
  // itself, never a "Type/id" string made for the purpose (memory per live context, issue 18).
  private final Map<String, StoredTable> byType = new HashMap<>();
  // split 64 ways: a HashMap grows all at once under the write lock (see StoredTable)
  private final ShardedMap<String, Members> byPatient = ShardedMap.plain();
  private final ShardedMap<String, Members> bySession = ShardedMap.plain();
  private int live;
  private final ThreadLocal<IParser> parsers;
  private static final String SESSION_TAG_DISPLAY = "SoFA session";
  private long totalBytes;

  /**
   * @param maxResources live resources at most
   * @param maxBytes stored JSON bytes at most, every kept version counted
   * @param maxVersions versions kept per resource (at least 1)
   */
  public InMemoryFhirRepository(FhirContext ctx, Clock clock, int maxResources, long maxBytes,
      int maxVersions) {
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxResources <= 0 || maxBytes <= 0 || maxVersions <= 0) {
      throw new IllegalArgumentException("maxResources, maxBytes and maxVersions must be positive");
    }
    this.maxResources = maxResources;
    this.maxBytes = maxBytes;
    this.maxVersions = maxVersions;
    this.parsers = ThreadLocal.withInitial(ctx::newJsonParser);
  }

  /** Bounded to {@code maxResources}, 1 GiB of JSON and 20 versions per resource. */
  public InMemoryFhirRepository(FhirContext ctx, Clock clock, int maxResources) {
    this(ctx, clock, maxResources, 1L << 30, 20);
  }

  public InMemoryFhirRepository(FhirContext ctx) {
    this(ctx, Clock.systemUTC(), 1_000_000);
  }

  /**
   * One stored resource: its current version's JSON, the older versions kept (none until it is
   * updated), plus what the indexes need. Identity is its equality: the index sets hold it.
   */
  private static final class Stored {
    final String type;
    final String id;
    /**
     * The current version, UTF-8 JSON without what the fields here hold ({@code meta.versionId},
     * {@code meta.lastUpdated} and, when {@code sessionsStripped}, the session tags): put back
     * on every read. A third of a small resource's JSON was that meta.
     */
    byte[] json;
    boolean sessionsStripped;
    /** Older versions kept, oldest first; null while there are none. */
    Deque<byte[]> older;
    int lastVersion;
    long lastUpdatedMillis;
    Index index = Index.EMPTY;

    /** What a read needs, taken under the lock. */
    Snapshot snapshot() {
      return new Snapshot(type, id, json, lastVersion, lastUpdatedMillis,
          sessionsStripped ? index.sessions() : List.of());
    }

    Stored(String type, String id) {
      this.type = type;
      this.id = id;
    }

    /** Stored JSON bytes, every kept version counted (not a field: 8 bytes of every resource). */
    long bytes() {
      long n = json.length;
      if (older != null) {
        for (byte[] o : older) {
          n += o.length;
        }
      }
      return n;
    }

    int versionCount() {
      return 1 + (older == null ? 0 : older.size());
    }

    Instant lastUpdated() {
      return Instant.ofEpochMilli(lastUpdatedMillis);
    }
  }

  /** What the searches index, computed from a resource before the lock is taken. */
  private record Index(String patient, String encounter, List<Ident> identifiers,
      List<String> sessions) {
    static final Index EMPTY = new Index(null, null, List.of(), List.of());
  }

  /** One identifier with a value; {@code system} is empty when it has none. */
  private record Ident(String system, String value) {}

  /** A version ready to insert: encoded and indexed outside the lock. */
  private record Prepared(String type, String id, int version, Instant lastUpdated, byte[] json,
      Index index, boolean sessionsStripped) {
    Snapshot snapshot() {
      return new Snapshot(type, id, json, version, lastUpdated.toEpochMilli(),
          sessionsStripped ? index.sessions() : List.of());
    }
  }

  /** A current version as stored, with what its JSON left out. */
  private record Snapshot(String type, String id, byte[] json, int version, long lastUpdatedMillis,
      List<String> sessions) {}

  @Override
  public Optional<Resource> read(String type, String id) {
    lock.readLock().lock();
    try {
      Stored s = find(type, id);
      return s == null ? Optional.empty() : Optional.of(parse(s.snapshot()));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Optional<Resource> vread(String type, String id, String version) {
    int v;
    try {
      v = Integer.parseInt(version);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    lock.readLock().lock();
    try {
      Stored s = find(type, id);
      int first = s == null ? 0 : s.lastVersion - s.versionCount() + 1;
      if (s == null || v < first || v > s.lastVersion) {
        return Optional.empty();
      }
      if (v == s.lastVersion) {
        return Optional.of(parse(s.snapshot()));
      }
      int skip = v - first;
      for (byte[] json : s.older) {
        if (skip-- == 0) {
          return Optional.of(parse(json));
        }
      }
      return Optional.empty();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Resource create(Resource resource) {
    Resource copy = resource.copy();
    copy.setId(newId());
    Prepared p = prepare(copy, 1, now());
    lock.writeLock().lock();
    try {
      checkCapacity(1, p.json().length);
      install(p, null);
    } finally {
      lock.writeLock().unlock();
    }
    return parse(p.snapshot());
  }

  @Override
  public Resource update(Resource resource) {
    if (!resource.getIdElement().hasIdPart()) {
      throw new FhirRepositoryException(400, resource.fhirType(), "update needs a resource id");
    }
    Resource copy = resource.copy();
    copy.setId(resource.getIdElement().getIdPart());
    lock.writeLock().lock();
    Prepared p;
    try {
      Stored s = find(copy);
      p = prepare(copy, s == null ? 1 : s.lastVersion + 1, now());
      byte[] previous = whole(s);
      checkCapacity(s == null ? 1 : 0, p.json().length + growth(s, previous));
      install(p, previous);
    } finally {
      lock.writeLock().unlock();
    }
    return parse(p.snapshot());
  }

  @Override
  public Optional<Resource> updateExisting(Resource resource) {
    if (!resource.getIdElement().hasIdPart()) {
      throw new FhirRepositoryException(400, resource.fhirType(), "update needs a resource id");
    }
    Resource copy = resource.copy();
    copy.setId(resource.getIdElement().getIdPart());
    lock.writeLock().lock();
    Prepared p;
    try {
      Stored s = find(copy);
      if (s == null) {
        return Optional.empty();
      }
      p = prepare(copy, s.lastVersion + 1, now());
      byte[] previous = whole(s);
      checkCapacity(0, p.json().length + growth(s, previous));
      install(p, previous);
    } finally {
      lock.writeLock().unlock();
    }
    return Optional.of(parse(p.snapshot()));
  }

  @Override
  public boolean delete(String type, String id) {
    lock.writeLock().lock();
    try {
      return remove(type, id);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public List<Resource> search(String type, SearchCriteria c) {
    List<Snapshot> hits = new ArrayList<>();
    lock.readLock().lock();
    try {
      Iterable<Stored> candidates;
      if (c.id().isPresent()) {
        Stored s = find(type, c.id().get());
        candidates = s == null ? List.of() : List.of(s);
      } else if (c.patient().isPresent()) {
        candidates = byPatient.getOrDefault(c.patient().get(), Members.NONE);
      } else if (c.sessionTag().isPresent()) {
        candidates = bySession.getOrDefault(c.sessionTag().get(), Members.NONE);
      } else {
        StoredTable t = byType.get(type);
        candidates = t == null ? List.of() : t;
      }
      for (Stored s : candidates) {
        if (s.type.equals(type) && matches(s, c)) {
          hits.add(s.snapshot());
          if (hits.size() >= c.limit()) {
            break;
          }
        }
      }
    } finally {
      lock.readLock().unlock();
    }
    List<Resource> out = new ArrayList<>(hits.size());
    for (Snapshot h : hits) {
      out.add(parse(h)); // parsing needs no lock: the bytes never change
    }
    return out;
  }

  /** The caller holds the lock. */
  private Stored find(String type, String id) {
    StoredTable t = byType.get(type);
    return t == null || id == null ? null : t.get(id);
  }

  private Stored find(Resource r) {
    return find(r.fhirType(), r.getIdElement().getIdPart());
  }

  private static boolean matches(Stored s, SearchCriteria c) {
    Index x = s.index;
    if (c.id().isPresent() && !c.id().get().equals(s.id)) {
      return false;
    }
    if (c.patient().isPresent() && !c.patient().get().equals(x.patient())) {
      return false;
    }
    if (c.encounter().isPresent() && !c.encounter().get().equals(x.encounter())) {
      return false;
    }
    if (c.sessionTag().isPresent() && !x.sessions().contains(c.sessionTag().get())) {
      return false;
    }
    if (!c.sessionFilter().test(x.sessions().isEmpty() ? null : x.sessions().get(0))) {
      return false;
    }
    if (c.identifierValue().isPresent()) {
      String v = c.identifierValue().get();
      String sys = c.identifierSystem().orElse(null);
      boolean hit = x.identifiers().stream().anyMatch(i -> i.value().equals(v)
          && (sys == null || i.system().equals(sys)));
      if (!hit) {
        return false;
      }
    }
    if (c.lastUpdatedFrom().isPresent() && s.lastUpdated().isBefore(c.lastUpdatedFrom().get())) {
      return false;
    }
    return c.lastUpdatedTo().isEmpty() || !s.lastUpdated().isAfter(c.lastUpdatedTo().get());
  }

  @Override
  public Bundle transaction(Bundle tx) {
    if (tx.getType() != Bundle.BundleType.TRANSACTION) {
      throw new FhirRepositoryException(400, "Bundle.type",
          "expected a Bundle of type transaction, got " + tx.getType());
    }
    Bundle work = tx.copy();
    // 1. outside the lock: check every entry, give new resources ids, link references, encode
    TransactionEntries.prepare(ctx, work, this::newId);
    Instant now = now();
    Prepared[] prepared = new Prepared[work.getEntry().size()];
    byte[][] previous = new byte[work.getEntry().size()][];
    long newBytes = 0;
    int creates = 0;
    // the entries of one transaction mostly name the same patient, encounter and session: one
    // String each, however many resources keep it in their index
    Map<String, String> shared = new HashMap<>();
    Map<Object, Object> sharedIndexes = new HashMap<>();
    for (int i = 0; i < work.getEntry().size(); i++) {
      BundleEntryComponent e = work.getEntry().get(i);
      if (e.getRequest().getMethod() == HTTPVerb.POST) {
        prepared[i] = prepare(e.getResource(), 1, now, shared, sharedIndexes);
        newBytes += prepared[i].json().length;
        creates++;
      }
    }
    // 2. under the lock: what depends on what is stored (PUT versions, capacity), then insert
    lock.writeLock().lock();
    try {
      for (int i = 0; i < work.getEntry().size(); i++) {
        BundleEntryComponent e = work.getEntry().get(i);
        if (e.getRequest().getMethod() == HTTPVerb.PUT) {
          Stored s = find(e.getResource());
          prepared[i] = prepare(e.getResource(), s == null ? 1 : s.lastVersion + 1, now, shared,
              sharedIndexes);
          previous[i] = whole(s); // no resource is named twice in one transaction
          newBytes += prepared[i].json().length + growth(s, previous[i]);
          if (s == null) {
            creates++;
          }
        }
      }
      checkCapacity(creates, newBytes);
      // nothing below can fail for a reason the checks above did not cover
      Bundle response = new Bundle();
      response.setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      for (int i = 0; i < work.getEntry().size(); i++) {
        BundleEntryComponent e = work.getEntry().get(i);
        Bundle.BundleEntryResponseComponent rc = response.addEntry().getResponse();
        if (e.getRequest().getMethod() == HTTPVerb.DELETE) {
          String[] parts = e.getRequest().getUrl().split("/");
          rc.setStatus(remove(parts[0], parts[1]) ? "204 No Content" : "404 Not Found");
          continue;
        }
        Prepared p = prepared[i];
        boolean existed = find(p.type(), p.id()) != null;
        install(p, previous[i]);
        rc.setStatus(existed ? "200 OK" : "201 Created");
        rc.setLocation(p.type() + "/" + p.id() + "/_history/" + p.version());
        rc.setEtag("W/\"" + p.version() + "\"");
        rc.setLastModified(Date.from(p.lastUpdated()));
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
      return live;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Stored JSON bytes, every kept version counted. */
  public long bytes() {
    lock.readLock().lock();
    try {
      return totalBytes;
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- internals

  /**
   * The time of a write, in FHIR's precision (milliseconds): what {@code meta.lastUpdated} shows
   * is what {@code _lastUpdated} searches compare.
   */
  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  private Prepared prepare(Resource r, int version, Instant now) {
    return prepare(r, version, now, new HashMap<>(4));
  }

  /**
   * Sets id, version and lastUpdated, encodes and indexes. Needs no lock. Index strings equal to
   * one in {@code shared} are replaced by it.
   */
  private Prepared prepare(Resource r, int version, Instant now, Map<String, String> shared) {
    return prepare(r, version, now, shared, new HashMap<>(4));
  }

  private Prepared prepare(Resource r, int version, Instant now, Map<String, String> shared,
      Map<Object, Object> sharedIndexes) {
    String type = r.fhirType();
    String id = r.getIdElement().getIdPart();
    r.setIdElement(r.getIdElement().withVersion(null));
    // encoded without what the Stored fields keep (id, version, time, plain session tags)
    r.setIdElement(null);
    r.getMeta().setVersionIdElement(null);
    r.getMeta().setLastUpdatedElement(null);
    List<Coding> plainSessionTags = new ArrayList<>(1);
    boolean allPlain = true;
    for (Coding tag : r.getMeta().getTag()) {
      if (SESSION_TAG_SYSTEM.equals(tag.getSystem())) {
        // exactly what FhirResourceRepository.tagSession writes, so that it can be written back
        boolean plain = tag.hasCode()
            && tag.equalsDeep(new Coding(SESSION_TAG_SYSTEM, tag.getCode(), SESSION_TAG_DISPLAY));
        allPlain &= plain;
        plainSessionTags.add(tag);
      }
    }
    if (allPlain) {
      r.getMeta().getTag().removeAll(plainSessionTags);
    }
    byte[] json;
    try {
      json = FhirJson.encode(parsers.get(), r);
    } catch (DataFormatException e) {
      throw new FhirRepositoryException(422, type, "cannot store resource: " + e.getMessage());
    } finally {
      if (allPlain) {
        r.getMeta().getTag().addAll(plainSessionTags);
      }
      r.setId(type + "/" + id);
      r.getMeta().setVersionId(Integer.toString(version));
      r.getMeta().setLastUpdated(Date.from(now));
    }
    List<Ident> ids = new ArrayList<>();
    if (ctx.getResourceDefinition(r).getChildByName("identifier") != null) {
      for (Object o : ctx.getResourceDefinition(r).getChildByName("identifier").getAccessor()
          .getValues(r)) {
        Identifier i = (Identifier) o;
        if (i.hasValue()) { // one without a value matches no search
          ids.add(new Ident(i.hasSystem() ? i.getSystem() : "", i.getValue()));
        }
      }
    }
    List<String> sessions = new ArrayList<>(1);
    for (Coding tag : r.getMeta().getTag()) {
      if (SESSION_TAG_SYSTEM.equals(tag.getSystem())) {
        if (tag.getCode() == null || tag.getCode().isEmpty()) {
          throw new FhirRepositoryException(422, type + ".meta.tag",
              "a session tag must have a code");
        }
        String code = shared.computeIfAbsent(tag.getCode(), x -> x);
        if (!sessions.contains(code)) { // the same session twice indexes once
          sessions.add(code);
        }
      }
    }
    String patient = PatientCompartment.patientOf(ctx, r).orElse(null);
    String encounter = PatientCompartment.encounterOf(ctx, r).orElse(null);
    // one list of the transaction's session(s), however many Index records name it
    @SuppressWarnings("unchecked")
    List<String> sessionList = (List<String>) sharedIndexes.computeIfAbsent(
        List.copyOf(sessions), x -> x);
    Index index = new Index(patient == null ? null : shared.computeIfAbsent(patient, x -> x),
        encounter == null ? null : shared.computeIfAbsent(encounter, x -> x),
        ids.isEmpty() ? List.of() : List.copyOf(ids), sessionList);
    // most entries of a transaction index alike (patient, encounter, session): one Index for them
    Object same = sharedIndexes.computeIfAbsent(index, x -> x);
    index = (Index) same;
    return new Prepared(type, id, version, now, json, index,
        allPlain && !sessions.isEmpty());
  }

  /**
   * The current version of {@code s} whole (with its meta), as an older version is kept; null
   * for none. Made before the capacity check, so that what it adds is counted. Caller holds the
   * write lock.
   */
  private byte[] whole(Stored s) {
    return s == null ? null : FhirJson.encode(parsers.get(), parse(s.snapshot()));
  }

  /** What keeping {@code previous} whole adds to the bytes stored. */
  private static long growth(Stored s, byte[] previous) {
    return s == null ? 0 : previous.length - s.json.length;
  }

  /**
   * Inserts a prepared version; {@code previous} is {@link #whole} of the current one (null for
   * a new resource). The caller holds the write lock and checked capacity.
   */
  private void install(Prepared p, byte[] previous) {
    Stored s = find(p.type(), p.id());
    if (s == null) {
      s = new Stored(p.type(), p.id());
      byType.computeIfAbsent(p.type(), x -> new StoredTable()).add(s);
      live++;
    } else {
      if (s.older == null) {
        s.older = new ArrayDeque<>(2);
      }
      // an older version is read whole (vread): its meta goes back into its JSON
      s.older.addLast(previous);
      totalBytes += growth(s, previous);
      unindex(s);
    }
    s.json = p.json();
    s.sessionsStripped = p.sessionsStripped();
    totalBytes += p.json().length;
    while (s.versionCount() > maxVersions) {
      byte[] dropped = s.older.removeFirst();
      totalBytes -= dropped.length;
    }
    s.lastVersion = p.version();
    s.lastUpdatedMillis = p.lastUpdated().toEpochMilli();
    s.index = p.index();
    index(s);
  }

  /** The caller holds the write lock. */
  private boolean remove(String type, String id) {
    StoredTable t = byType.get(type);
    Stored s = t == null ? null : t.remove(id);
    if (s == null) {
      return false;
    }
    live--;
    unindex(s);
    totalBytes -= s.bytes();
    return true;
  }

  private void index(Stored s) {
    if (s.index.patient() != null) {
      byPatient.computeIfAbsent(s.index.patient(), x -> new Members()).add(s);
    }
    for (String session : s.index.sessions()) {
      bySession.computeIfAbsent(session, x -> new Members()).add(s);
    }
  }

  private void unindex(Stored s) {
    if (s.index.patient() != null) {
      Members set = byPatient.get(s.index.patient());
      if (set != null && set.remove(s) && set.isEmpty()) {
        byPatient.remove(s.index.patient());
      }
    }
    for (String session : s.index.sessions()) {
      Members set = bySession.get(session);
      if (set != null && set.remove(s) && set.isEmpty()) {
        bySession.remove(session);
      }
    }
  }

  /**
   * The resources of one patient or one session: an array while small (a launch's handful, a
   * fifth of a hash set's memory), a hash set past {@link #SMALL} members so that removals stay
   * O(1) however many a patient gathers. Identity is equality (Stored does not override it).
   */
  private static final class Members implements Iterable<Stored> {
    static final Members NONE = new Members();
    private static final int SMALL = 32;
    private Stored[] small = new Stored[4];
    private int n;
    private Set<Stored> big;

    void add(Stored s) {
      if (big != null) {
        big.add(s);
        return;
      }
      if (n == SMALL) {
        big = new java.util.LinkedHashSet<>(Arrays.asList(small).subList(0, n));
        big.add(s);
        small = null;
        return;
      }
      if (n == small.length) {
        small = Arrays.copyOf(small, Math.min(SMALL, n * 2));
      }
      small[n++] = s;
    }

    boolean remove(Stored s) {
      if (big != null) {
        return big.remove(s);
      }
      for (int i = 0; i < n; i++) {
        if (small[i] == s) {
          System.arraycopy(small, i + 1, small, i, n - i - 1);
          small[--n] = null;
          return true;
        }
      }
      return false;
    }

    boolean isEmpty() {
      return big != null ? big.isEmpty() : n == 0;
    }

    @Override
    public java.util.Iterator<Stored> iterator() {
      return big != null ? big.iterator() : Arrays.asList(small).subList(0, n).iterator();
    }
  }

  /**
   * The resources of one type by id, split {@value #PARTS} ways so that a table grows a
   * {@value #PARTS}th at a time: grown whole, under the write lock, 600,000 ids took tens of
   * milliseconds while every writer waited (the 60 s tail, issue 18). Not thread-safe: the
   * repository's lock guards it.
   *
   * <p>An id's part and its home slot in that part come from its String.hashCode mixed with a
   * random seed of this table (kept in the String, so a resize computes no string again): ids
   * chosen to fill one part, or to make one long run of slots, need the seed. Ids whose
   * hashCodes are equal ("Aa" and "BB") share a home whatever the seed; the part they fill then
   * rehashes with FNV-1a from a seed of its own once one insert probes past {@link Part#MAX_PROBE}
   * slots, and stays so. The SoFA makes its ids, but an embedder may update with ids of its own.
   */
  private static final class StoredTable implements Iterable<Stored> {
    private static final int PARTS = 64;
    /** A part is chosen by the top 6 bits of the mixed hash; a home slot by its low bits. */
    private static final int PART_SHIFT = Integer.SIZE - 6;
    private final Part[] parts = new Part[PARTS];
    private final int seed = new SecureRandom().nextInt();

    /** The murmur3 finaliser of the hash and the seed: every bit of both moves every bit. */
    private int mixed(String id) {
      int h = id.hashCode() ^ seed;
      h ^= h >>> 16;
      h *= 0x85ebca6b;
      h ^= h >>> 13;
      h *= 0xc2b2ae35;
      return h ^ (h >>> 16);
    }

    Stored get(String id) {
      int h = mixed(id);
      Part p = parts[h >>> PART_SHIFT];
      return p == null ? null : p.get(id, h);
    }

    /** Adds {@code s}, whose id is not in the table. */
    void add(Stored s) {
      int i = mixed(s.id) >>> PART_SHIFT;
      if (parts[i] == null) {
        parts[i] = new Part(this);
      }
      parts[i].add(s);
    }

    Stored remove(String id) {
      if (id == null) {
        return null;
      }
      int h = mixed(id);
      Part p = parts[h >>> PART_SHIFT];
      return p == null ? null : p.remove(id, h);
    }

    @Override
    public java.util.Iterator<Stored> iterator() {
      return Arrays.stream(parts).filter(Objects::nonNull)
          .flatMap(p -> Arrays.stream(p.slots)).filter(Objects::nonNull).iterator();
    }
  }

  /**
   * One part of a {@link StoredTable}: an open-addressing table of the Stored themselves (linear
   * probing, at most half full, deletion by shifting back). A HashMap spent a 32-byte node on
   * every resource, about 190 bytes of every six-resource context (issue 18).
   */
  private static final class Part {
    /** Probes past which one insert makes the part rehash with a seed of its own. */
    static final int MAX_PROBE = 64;
    private final StoredTable table;
    private Stored[] slots = new Stored[16];
    private int size;
    private boolean seeded;
    private int seed;

    Part(StoredTable table) {
      this.table = table;
    }

    /** The home slot of an id whose table hash is {@code mixed}. */
    private int home(String id, int mixed) {
      if (!seeded) {
        return mixed & (slots.length - 1);
      }
      int h = seed;
      for (int i = 0; i < id.length(); i++) {
        h = (h ^ id.charAt(i)) * 0x01000193;
      }
      return (h ^ (h >>> 16)) & (slots.length - 1);
    }

    Stored get(String id, int mixed) {
      int mask = slots.length - 1;
      for (int i = home(id, mixed); slots[i] != null; i = (i + 1) & mask) {
        if (slots[i].id.equals(id)) {
          return slots[i];
        }
      }
      return null;
    }

    void add(Stored s) {
      if ((size + 1) * 2 > slots.length) {
        rehash(slots.length * 2);
      }
      if (place(s) > MAX_PROBE && !seeded) {
        seeded = true;
        seed = new SecureRandom().nextInt();
        rehash(slots.length);
      }
      size++;
    }

    private void rehash(int capacity) {
      Stored[] old = slots;
      slots = new Stored[capacity];
      for (Stored o : old) {
        if (o != null) {
          place(o);
        }
      }
    }

    /** Puts {@code s} in the first free slot of its run; returns how many it passed. */
    private int place(Stored s) {
      int mask = slots.length - 1;
      int i = home(s.id, table.mixed(s.id));
      int passed = 0;
      while (slots[i] != null) {
        i = (i + 1) & mask;
        passed++;
      }
      slots[i] = s;
      return passed;
    }

    Stored remove(String id, int mixed) {
      int mask = slots.length - 1;
      int i = home(id, mixed);
      while (slots[i] != null && !slots[i].id.equals(id)) {
        i = (i + 1) & mask;
      }
      Stored gone = slots[i];
      if (gone == null) {
        return null;
      }
      // backward-shift deletion: no tombstones, every probe run stays unbroken
      int hole = i;
      for (int j = (i + 1) & mask; slots[j] != null; j = (j + 1) & mask) {
        int home = home(slots[j].id, table.mixed(slots[j].id));
        // slots[j] may move into the hole if its home is not cyclically within (hole, j]
        if (((j - home) & mask) >= ((j - hole) & mask)) {
          slots[hole] = slots[j];
          hole = j;
        }
      }
      slots[hole] = null;
      size--;
      return gone;
    }
  }

  private void checkCapacity(int more, long moreBytes) {
    if (live + more > maxResources) {
      throw new FhirRepositoryException(503, "repository",
          "the SoFA holds its maximum of " + maxResources + " resources; retry later");
    }
    if (totalBytes + moreBytes > maxBytes) {
      throw new FhirRepositoryException(503, "repository",
          "the SoFA holds its maximum of " + maxBytes + " bytes of resources; retry later");
    }
  }

  /** 96 random bits as 24 hex digits: a valid FHIR id ([A-Za-z0-9-.]{1,64}). */
  private String newId() {
    byte[] b = new byte[12];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private Resource parse(Snapshot s) {
    Resource r = parse(s.json());
    r.setId(s.type() + "/" + s.id());
    r.getMeta().setVersionId(Integer.toString(s.version()));
    r.getMeta().setLastUpdated(new Date(s.lastUpdatedMillis()));
    r.setIdElement(r.getIdElement().withVersion(Integer.toString(s.version())));
    for (String session : s.sessions()) {
      r.getMeta().addTag(new Coding(SESSION_TAG_SYSTEM, session, SESSION_TAG_DISPLAY));
    }
    return r;
  }

  private Resource parse(byte[] json) {
    return (Resource) parsers.get().parseResource(
        new InputStreamReader(new ByteArrayInputStream(json), StandardCharsets.UTF_8));
  }
}
