package ca.halo.server.postgres;

import ca.halo.server.fhir.FhirRepositoryException;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.PatientCompartment;
import ca.halo.server.fhir.SearchCriteria;
import ca.halo.server.fhir.TransactionEntries;
import ca.halo.server.postgres.internal.DatabaseErrors;
import ca.halo.server.postgres.internal.Sql;
import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.Bundle.HTTPVerb;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Resource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FhirResourceRepository} on PostgreSQL, so that several SoFA nodes share the resources
 * of their launch sessions and keep them across restarts. It behaves as
 * {@link ca.halo.server.fhir.InMemoryFhirRepository} does (ids of 24 hex digits, versions from 1,
 * {@code urn:uuid:} references of a transaction rewritten, a bounded history per resource, a
 * delete that forgets the history) and passes the same contract.
 *
 * <pre>{@code
 * PostgresDatabase db = PostgresDatabase.builder(url).user("sofa").password(secret).build();
 * SofaServer sofa = SofaServer.builder()...
 *     .repository(new PostgresFhirRepository(db, FhirContext.forR4Cached()))
 *     .build();
 * }</pre>
 *
 * <p>Storage (migration {@code V2__fhir_resources.sql}): {@code fhir_resource} holds the current
 * version of each live resource as JSONB (HAPI's compact JSON) beside the columns the searches
 * use: patient compartment, encounter, identifiers ({@code text[]}, GIN), session tags
 * ({@code text[]}, GIN) and {@code last_updated}; {@code fhir_resource_version} holds the earlier
 * versions kept, at most {@code maxVersions - 1} per resource.
 *
 * <p>Atomicity and concurrency come from the database, never from a check in Java: a write locks
 * the rows it replaces ({@code SELECT ... FOR UPDATE}, in key order) and runs in one database
 * transaction, a {@code transaction} Bundle included; two writers of one resource queue on its
 * row, so each gets the next version. {@code updateExisting} finds no row to lock once a delete
 * has committed, so it never brings a deleted resource back. A write that loses a race for a new
 * id, or a deadlock, is retried a few times. Searches page through candidates (id and session)
 * in id order, apply {@link SearchCriteria#sessionFilter()} to each candidate's session before it
 * counts towards the limit, and load the JSON only of those they return, keeping one only if its
 * session is still the one the filter accepted. The filter runs while no connection is held, so
 * it may itself use the database (a launch-context store on the same pool) without starving it.
 *
 * <p>Thread-safe; holds no connection between calls. Errors: {@link FhirRepositoryException}
 * 503 when the database cannot be reached, 422 when it refuses a resource's content (for
 * example a NUL character, which FHIR strings may not hold), 400 for a malformed transaction.
 */
public final class PostgresFhirRepository implements FhirResourceRepository {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresFhirRepository.class);
  /** Writes that lose a race (new id taken meanwhile, deadlock) run again, this often at most. */
  private static final int ATTEMPTS = 5;
  /** Default capacity: resources held at once. */
  public static final long DEFAULT_MAX_RESOURCES = 10_000_000L;
  private static final Set<String> RETRY_STATES = Set.of(
      "23505", // unique_violation: a concurrent PUT created the same new resource
      "40P01", // deadlock_detected
      "40001"); // serialization_failure
  private static final Set<String> REFUSED_CONTENT_STATES = Set.of(
      "22P05", // untranslatable_character: \u0000 in a string
      "22P02", // invalid_text_representation
      "22021", // character_not_in_repertoire: \u0000 in a text value
      "54000"); // program_limit_exceeded
  private static final String COLUMNS = "res_type, res_id, version, last_updated, patient,"
      + " encounter, identifiers, identifier_values, session_tags, resource";

  private final Jdbi jdbi;
  private final FhirContext ctx;
  private final Clock clock;
  private final int maxVersions;
  private final long maxResources;
  private final SecureRandom random = new SecureRandom();
  private final ThreadLocal<IParser> parsers;

  /** Keeping 20 versions per resource, on the system clock. */
  public PostgresFhirRepository(PostgresDatabase db, FhirContext ctx) {
    this(db, ctx, Clock.systemUTC(), 20);
  }

  /**
   * @param db the migrated database (its pool is shared, not closed here)
   * @param ctx the R4 context of the SoFA
   * @param clock where {@code meta.lastUpdated} comes from
   * @param maxVersions versions kept per resource, the current one included (at least 1)
   */
  public PostgresFhirRepository(PostgresDatabase db, FhirContext ctx, Clock clock,
      int maxVersions) {
    this(db, ctx, clock, maxVersions, DEFAULT_MAX_RESOURCES);
  }

  /**
   * @param maxResources resources held (current versions) past which a write that adds one is
   *     refused with 503; checked in the write's transaction against the committed count plus its
   *     own rows, so writers at the same moment on other connections may pass it by what they add
   */
  public PostgresFhirRepository(PostgresDatabase db, FhirContext ctx, Clock clock,
      int maxVersions, long maxResources) {
    if (maxResources < 1) {
      throw new IllegalArgumentException("maxResources must be positive");
    }
    this.maxResources = maxResources;
    this.jdbi = Objects.requireNonNull(db, "db").jdbi();
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxVersions < 1) {
      throw new IllegalArgumentException("maxVersions must be positive");
    }
    this.maxVersions = maxVersions;
    this.parsers = ThreadLocal.withInitial(ctx::newJsonParser);
  }

  /** One version ready to write: encoded and indexed. */
  private record Row(String type, String id, int version, Instant lastUpdated, String json,
      String patient, String encounter, String[] identifiers, String[] identifierValues,
      String[] sessions) {}

  /**
   * A search candidate: its id, the session a sessionFilter sees (null: untagged) and, once
   * loaded, its JSON.
   */
  private record Candidate(String id, String session, String json) {}

  // ---- reads

  @Override
  public Optional<Resource> read(String type, String id) {
    if (!Sql.storable(type, id)) {
      return Optional.empty(); // names no row
    }
    return withHandle(h -> h.createQuery("SELECT resource::text FROM fhir_resource"
            + " WHERE res_type = :type AND res_id = :id")
        .bind("type", type).bind("id", id).mapTo(String.class).findOne())
        .map(this::parse);
  }

  @Override
  public Optional<Resource> vread(String type, String id, String version) {
    if (!Sql.storable(type, id)) {
      return Optional.empty();
    }
    int v;
    try {
      v = Integer.parseInt(version);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    return withHandle(h -> h.createQuery("SELECT resource::text FROM fhir_resource"
            + " WHERE res_type = :type AND res_id = :id AND version = :v"
            + " UNION ALL SELECT resource::text FROM fhir_resource_version"
            + " WHERE res_type = :type AND res_id = :id AND version = :v")
        .bind("type", type).bind("id", id).bind("v", v).mapTo(String.class).findFirst())
        .map(this::parse);
  }

  @Override
  public List<Resource> search(String type, SearchCriteria c) {
    if (!Sql.storable(type, c.id().orElse(null), c.patient().orElse(null),
        c.encounter().orElse(null), c.identifierSystem().orElse(null),
        c.identifierValue().orElse(null), c.sessionTag().orElse(null))) {
      return List.of(); // a value no row can hold matches nothing
    }
    StringBuilder where = new StringBuilder("res_type = :type");
    Map<String, Object> args = new HashMap<>();
    args.put("type", type);
    c.id().ifPresent(v -> condition(where, args, "res_id = :id", "id", v));
    c.patient().ifPresent(v -> condition(where, args, "patient = :patient", "patient", v));
    c.encounter().ifPresent(v -> condition(where, args, "encounter = :encounter", "encounter", v));
    c.identifierValue().ifPresent(v -> {
      if (c.identifierSystem().isPresent()) {
        condition(where, args, "identifiers @> ARRAY[CAST(:identifier AS text)]", "identifier",
            c.identifierSystem().get() + "|" + v);
      } else {
        condition(where, args, "identifier_values @> ARRAY[CAST(:identifier AS text)]",
            "identifier", v);
      }
    });
    c.lastUpdatedFrom().ifPresent(v -> condition(where, args, "last_updated >= :from", "from",
        timestamp(v)));
    c.lastUpdatedTo().ifPresent(v -> condition(where, args, "last_updated <= :to", "to",
        timestamp(v)));
    c.sessionTag().ifPresent(v -> condition(where, args,
        "session_tags @> ARRAY[CAST(:session AS text)]", "session", v));
    int limit = c.limit();
    int page = Math.max(64, Math.min(limit, 1000));
    String pageSql = "SELECT res_id, session_tags[1] FROM fhir_resource WHERE " + where
        + " AND res_id > :after ORDER BY res_id LIMIT " + page;
    String loadSql = "SELECT res_id, session_tags[1], resource::text FROM fhir_resource WHERE "
        + where + " AND res_id = ANY(:ids) ORDER BY res_id";
    Predicate<String> filter = c.sessionFilter();
    List<Resource> out = new ArrayList<>();
    String after = "";
    while (out.size() < limit) {
      String from = after;
      List<Candidate> candidates = withHandle(h -> h.createQuery(pageSql).bindMap(args)
          .bind("after", from)
          .map((rs, x) -> new Candidate(rs.getString(1), rs.getString(2), null)).list());
      // the filter is the caller's code (it may ask the database itself): no connection is held
      boolean more = candidates.size() == page;
      Map<String, String> accepted = new HashMap<>();
      for (Candidate cand : candidates) {
        after = cand.id();
        if (filter.test(cand.session())) {
          accepted.put(cand.id(), cand.session());
          if (accepted.size() == limit - out.size()) {
            more = true;
            break;
          }
        }
      }
      if (!accepted.isEmpty()) {
        List<Candidate> loaded = withHandle(h -> h.createQuery(loadSql).bindMap(args)
            .bind("ids", accepted.keySet().toArray(new String[0]))
            .map((rs, x) -> new Candidate(rs.getString(1), rs.getString(2), rs.getString(3)))
            .list());
        for (Candidate r : loaded) {
          // one written meanwhile counts only if the filter saw its current session
          if (Objects.equals(r.session(), accepted.get(r.id()))) {
            out.add(parse(r.json()));
          }
        }
      }
      if (!more) {
        break;
      }
    }
    return out;
  }

  private static void condition(StringBuilder where, Map<String, Object> args, String sql,
      String name, Object value) {
    where.append(" AND ").append(sql);
    args.put(name, value);
  }

  // ---- single writes

  @Override
  public Resource create(Resource resource) {
    Resource copy = resource.copy();
    Instant now = now();
    return inTransaction(h -> {
      copy.setId(newId()); // a new id on each attempt
      Row row = prepare(copy, 1, now);
      insert(h, List.of(row));
      return parse(row.json());
    });
  }

  @Override
  public Resource update(Resource resource) {
    Resource copy = idCopy(resource);
    return inTransaction(h -> write(h, copy, true).orElseThrow());
  }

  @Override
  public Optional<Resource> updateExisting(Resource resource) {
    Resource copy = idCopy(resource);
    return inTransaction(h -> write(h, copy, false));
  }

  private static Resource idCopy(Resource resource) {
    if (!resource.getIdElement().hasIdPart()) {
      throw new FhirRepositoryException(400, resource.fhirType(), "update needs a resource id");
    }
    Resource copy = resource.copy();
    copy.setId(resource.getIdElement().getIdPart());
    return copy;
  }

  /** Writes the next version of {@code r}, locking its row; creates it only if asked. */
  private Optional<Resource> write(Handle h, Resource r, boolean create) {
    String type = r.fhirType();
    String id = r.getIdElement().getIdPart();
    Optional<Integer> current = h.createQuery("SELECT version FROM fhir_resource"
            + " WHERE res_type = :type AND res_id = :id FOR UPDATE")
        .bind("type", type).bind("id", id).mapTo(Integer.class).findOne();
    if (current.isEmpty() && !create) {
      return Optional.empty();
    }
    Row row = prepare(r, current.map(v -> v + 1).orElse(1), now());
    if (current.isPresent()) {
      replace(h, List.of(row));
    } else {
      insert(h, List.of(row));
    }
    return Optional.of(parse(row.json()));
  }

  @Override
  public boolean delete(String type, String id) {
    if (!Sql.storable(type, id)) {
      return false;
    }
    return inTransaction(h -> h.createUpdate("DELETE FROM fhir_resource"
            + " WHERE res_type = :type AND res_id = :id")
        .bind("type", type).bind("id", id).execute() > 0);
  }

  // ---- transaction

  @Override
  public Bundle transaction(Bundle tx) {
    if (tx.getType() != Bundle.BundleType.TRANSACTION) {
      throw new FhirRepositoryException(400, "Bundle.type",
          "expected a Bundle of type transaction, got " + tx.getType());
    }
    Bundle work = tx.copy();
    int n = work.getEntry().size();
    // 1. before the database: check every entry, give new resources ids, link references, encode
    Set<String> targets = TransactionEntries.prepare(ctx, work, this::newId);
    Instant now = now();
    Row[] rows = new Row[n];
    for (int i = 0; i < n; i++) {
      BundleEntryComponent e = work.getEntry().get(i);
      if (e.getRequest().getMethod() == HTTPVerb.POST) {
        rows[i] = prepare(e.getResource(), 1, now);
      }
    }
    // 2. one database transaction: lock what PUT and DELETE name, then write everything
    return inTransaction(h -> {
      Map<String, Integer> versions = lock(h, targets);
      Bundle response = new Bundle();
      response.setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      List<Row> inserts = new ArrayList<>();
      List<Row> replaces = new ArrayList<>();
      List<String[]> deletes = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        BundleEntryComponent e = work.getEntry().get(i);
        Bundle.BundleEntryResponseComponent rc = response.addEntry().getResponse();
        HTTPVerb m = e.getRequest().getMethod();
        if (m == HTTPVerb.DELETE) {
          String url = e.getRequest().getUrl();
          boolean existed = versions.containsKey(url);
          if (existed) {
            deletes.add(typeAndId(url));
          }
          rc.setStatus(existed ? "204 No Content" : "404 Not Found");
          continue;
        }
        Row row = rows[i];
        boolean existed = false;
        if (m == HTTPVerb.PUT) {
          Integer v = versions.get(e.getRequest().getUrl());
          existed = v != null;
          row = prepare(e.getResource().copy(), existed ? v + 1 : 1, now);
        }
        (existed ? replaces : inserts).add(row);
        rc.setStatus(existed ? "200 OK" : "201 Created");
        rc.setLocation(row.type() + "/" + row.id() + "/_history/" + row.version());
        rc.setEtag("W/\"" + row.version() + "\"");
        rc.setLastModified(Date.from(row.lastUpdated()));
      }
      if (!deletes.isEmpty()) {
        PreparedBatch b = h.prepareBatch("DELETE FROM fhir_resource"
            + " WHERE res_type = :type AND res_id = :id");
        for (String[] d : deletes) {
          b.bind("type", d[0]).bind("id", d[1]).add();
        }
        b.execute();
      }
      replace(h, replaces);
      insert(h, inserts);
      return response;
    });
  }

  /** {@code Type/id} as its two parts, or null. */
  private static String[] typeAndId(String url) {
    return TransactionEntries.typeAndId(url);
  }

  /** Locks the rows of {@code Type/id} targets in key order; their versions by target. */
  private static Map<String, Integer> lock(Handle h, Set<String> targets) {
    if (targets.isEmpty()) {
      return Map.of();
    }
    String[] types = new String[targets.size()];
    String[] ids = new String[targets.size()];
    int i = 0;
    for (String t : targets) {
      String[] p = typeAndId(t);
      types[i] = p[0];
      ids[i++] = p[1];
    }
    Map<String, Integer> out = new HashMap<>();
    h.createQuery("SELECT r.res_type, r.res_id, r.version FROM fhir_resource r"
            + " JOIN unnest(CAST(:types AS text[]), CAST(:ids AS text[])) AS t(res_type, res_id)"
            + " USING (res_type, res_id) ORDER BY r.res_type, r.res_id FOR UPDATE OF r")
        .bind("types", types).bind("ids", ids)
        .map((rs, x) -> Map.entry(rs.getString(1) + "/" + rs.getString(2), rs.getInt(3)))
        .forEach(en -> out.put(en.getKey(), en.getValue()));
    return out;
  }

  // ---- statements

  private void insert(Handle h, List<Row> rows) {
    if (rows.isEmpty()) {
      return;
    }
    PreparedBatch b = h.prepareBatch("INSERT INTO fhir_resource (" + COLUMNS + ") VALUES"
        + " (:type, :id, :version, :lastUpdated, :patient, :encounter,"
        + " CAST(:identifiers AS text[]), CAST(:identifierValues AS text[]),"
        + " CAST(:sessions AS text[]), CAST(:json AS jsonb))");
    for (Row r : rows) {
      bindRow(b, r).add();
    }
    b.execute();
    long held = h.createQuery("SELECT coalesce(sum(n), 0) FROM fhir_resource_count").mapTo(Long.class).one();
    if (held > maxResources) {
      throw new FhirRepositoryException(503, "repository", "the SoFA holds its maximum of "
          + maxResources + " resources; retry later"); // rolls the write back
    }
  }

  /** Moves the current versions of {@code rows} to the history, writes theirs, trims. */
  private void replace(Handle h, List<Row> rows) {
    if (rows.isEmpty()) {
      return;
    }
    if (maxVersions > 1) {
      PreparedBatch keep = h.prepareBatch("INSERT INTO fhir_resource_version"
          + " (res_type, res_id, version, last_updated, resource)"
          + " SELECT res_type, res_id, version, last_updated, resource FROM fhir_resource"
          + " WHERE res_type = :type AND res_id = :id");
      for (Row r : rows) {
        keep.bind("type", r.type()).bind("id", r.id()).add();
      }
      keep.execute();
    }
    PreparedBatch update = h.prepareBatch("UPDATE fhir_resource SET version = :version,"
        + " last_updated = :lastUpdated, patient = :patient, encounter = :encounter,"
        + " identifiers = CAST(:identifiers AS text[]),"
        + " identifier_values = CAST(:identifierValues AS text[]),"
        + " session_tags = CAST(:sessions AS text[]), resource = CAST(:json AS jsonb)"
        + " WHERE res_type = :type AND res_id = :id");
    for (Row r : rows) {
      bindRow(update, r).add();
    }
    update.execute();
    PreparedBatch trim = h.prepareBatch("DELETE FROM fhir_resource_version"
        + " WHERE res_type = :type AND res_id = :id AND version <= :oldest");
    boolean any = false;
    for (Row r : rows) {
      if (r.version() - maxVersions >= 1) {
        trim.bind("type", r.type()).bind("id", r.id()).bind("oldest", r.version() - maxVersions)
            .add();
        any = true;
      }
    }
    if (any) {
      trim.execute();
    }
  }

  private static PreparedBatch bindRow(PreparedBatch b, Row r) {
    return b.bind("type", r.type()).bind("id", r.id()).bind("version", r.version())
        .bind("lastUpdated", timestamp(r.lastUpdated())).bind("patient", r.patient())
        .bind("encounter", r.encounter()).bind("identifiers", r.identifiers())
        .bind("identifierValues", r.identifierValues()).bind("sessions", r.sessions())
        .bind("json", r.json());
  }

  // ---- internals

  /** Runs {@code body} on a connection in auto-commit: one statement. */
  private <T> T withHandle(HandleCallback<T, RuntimeException> body) {
    try {
      return jdbi.withHandle(body);
    } catch (JdbiException e) {
      throw translate(e, DatabaseErrors.state(e));
    }
  }

  /**
   * Runs {@code body} in one database transaction (read committed), again from the start when it
   * lost a race; {@code body} must be safe to run again.
   */
  private <T> T inTransaction(HandleCallback<T, RuntimeException> body) {
    for (int attempt = 1; ; attempt++) {
      try {
        return jdbi.inTransaction(body);
      } catch (JdbiException e) {
        String state = DatabaseErrors.state(e);
        if (attempt < ATTEMPTS && RETRY_STATES.contains(state)) {
          LOG.debug("retrying a write that lost a race (SQL state {})", state);
          continue;
        }
        throw translate(e, state);
      }
    }
  }

  private static RuntimeException translate(JdbiException e, String state) {
    if (DatabaseErrors.unavailable(e)) {
      return new FhirRepositoryException(503, "repository",
          "the SoFA's resource database is unavailable; retry later");
    }
    if (REFUSED_CONTENT_STATES.contains(state)) {
      return new FhirRepositoryException(422, "resource",
          "the database refused the resource's content (SQL state " + state + ")");
    }
    return e;
  }

  /** The time of a write, in FHIR's precision (milliseconds). */
  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  private static OffsetDateTime timestamp(Instant i) {
    return OffsetDateTime.ofInstant(i, ZoneOffset.UTC);
  }

  /** Sets id, version and lastUpdated on {@code r}, encodes and indexes it. */
  private Row prepare(Resource r, int version, Instant now) {
    String type = r.fhirType();
    String id = r.getIdElement().getIdPart();
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
    List<String> identifiers = new ArrayList<>();
    List<String> values = new ArrayList<>();
    BaseRuntimeChildDefinition child = ctx.getResourceDefinition(r).getChildByName("identifier");
    if (child != null) {
      for (Object o : child.getAccessor().getValues(r)) {
        Identifier i = (Identifier) o;
        if (i.hasValue()) { // one without a value matches no search
          identifiers.add((i.hasSystem() ? i.getSystem() : "") + "|" + i.getValue());
          values.add(i.getValue());
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
        sessions.add(tag.getCode());
      }
    }
    return new Row(type, id, version, now, json,
        PatientCompartment.patientOf(ctx, r).orElse(null),
        PatientCompartment.encounterOf(ctx, r).orElse(null),
        identifiers.toArray(new String[0]), values.toArray(new String[0]),
        sessions.toArray(new String[0]));
  }

  /** 96 random bits as 24 hex digits: a valid FHIR id ([A-Za-z0-9-.]{1,64}). */
  private String newId() {
    byte[] b = new byte[12];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private Resource parse(String json) {
    return (Resource) parsers.get().parseResource(json);
  }

  @Override
  public String toString() {
    return "PostgresFhirRepository{maxVersions=" + maxVersions + "}";
  }
}
