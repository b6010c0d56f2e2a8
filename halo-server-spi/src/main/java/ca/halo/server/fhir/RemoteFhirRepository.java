package ca.halo.server.fhir;

import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.halo.core.internal.fhir.ModelJson;
import ca.halo.server.internal.Links;
import ca.halo.server.internal.TransactionAnswers;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.gclient.IQuery;
import ca.uhn.fhir.rest.gclient.ReferenceClientParam;
import ca.uhn.fhir.rest.gclient.TokenClientParam;
import ca.uhn.fhir.rest.gclient.DateClientParam;
import ca.uhn.fhir.rest.gclient.UriClientParam;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Meta;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.UriType;

/**
 * A {@link FhirResourceRepository} that forwards to an existing FHIR R4 server through HAPI's
 * generic client: the path for a jurisdiction that already runs a FHIR server, or outgrows one
 * SoFA node. Make the client with {@code ca.halo.core.fhir.FhirClients}, so it carries the
 * SoFA's own credentials.
 *
 * <p>How a resource is marked as stored in a launch session on the remote server is the {@link
 * SessionMarker}: a {@code meta.tag} by default, which every FHIR server keeps and searches, or
 * {@code meta.source}, for servers that record every tag code as a definition of its own (HAPI
 * FHIR JPA does, one row per session, never removed). Whichever it is, the SoFA sees the session
 * as the {@link FhirResourceRepository#SESSION_TAG_SYSTEM} tag, and a search by session keeps
 * only what the remote server returns with that session's marker (a server that ignored the
 * search parameter would otherwise hand every resource to {@code $clear-context} to delete).
 *
 * <p>Thread-safe as the generic client is. Atomicity of transactions is the remote server's (FHIR
 * requires it). Errors from the server become {@link FhirRepositoryException} with its status.
 */
public final class RemoteFhirRepository implements FhirResourceRepository {
  /**
   * The start of {@code meta.source} on the remote server for a resource stored in a session,
   * with {@link SessionMarker#SOURCE}: this, then the session id. A server may add
   * {@code #request-id} after it, as HAPI FHIR JPA does.
   */
  public static final String SESSION_SOURCE_PREFIX =
      "http://fhir.infoway-inforoute.ca/io/HALO/sofa-session/";

  /**
   * With {@link SessionMarker#SOURCE}, the {@code Meta} extension that keeps a resource's own
   * {@code meta.source} on the remote server while the marker takes its place; the SoFA puts it
   * back when it reads the resource.
   */
  public static final String ORIGINAL_SOURCE_EXTENSION =
      "http://fhir.infoway-inforoute.ca/io/HALO/StructureDefinition/sofa-original-source";

  /** How the remote server marks a resource as stored in a launch session. */
  public enum SessionMarker {
    /**
     * A {@code meta.tag} of {@link FhirResourceRepository#SESSION_TAG_SYSTEM} whose code is the
     * session id, searched with {@code _tag}. Every FHIR server keeps tags; the default.
     */
    TAG,
    /**
     * {@code meta.source} set to {@link #SESSION_SOURCE_PREFIX} and the session id, searched
     * with {@code _source}. For servers that keep {@code meta.source} and search it but record
     * each tag code they see (HAPI FHIR JPA: a new tag code costs its transaction about half as
     * much again, and its row stays after the session's resources are gone). A resource's own
     * {@code meta.source} is kept in the {@link #ORIGINAL_SOURCE_EXTENSION} on the remote server.
     * The first write checks that the server kept the marker, and fails closed if it did not.
     */
    SOURCE
  }

  /**
   * How many resources of other sessions a search by session may bring before the server is
   * taken to ignore the parameter and the search fails (503), instead of paging on through it.
   */
  static final int MAX_FOREIGN_IN_SESSION_SEARCH = 1000;

  private final IGenericClient client;
  private final SessionMarker marker;
  /**
   * The session of a resource whose {@code meta.source} is a marker without a usable session id:
   * not a session id the SoFA makes (22 base64url characters), so nobody's launch shows it.
   */
  static final String UNREADABLE_SESSION = "!unreadable-session-marker";

  /** With SOURCE: whether the remote server was seen to keep meta.source (by a probe). */
  private volatile boolean sourceKept;

  /** A repository on {@code client}'s server, marking sessions with {@link SessionMarker#TAG}. */
  public RemoteFhirRepository(IGenericClient client) {
    this(builder(client));
  }

  private RemoteFhirRepository(Builder b) {
    this.client = b.client;
    this.marker = b.marker;
  }

  /** A builder for a repository on {@code client}'s server. */
  public static Builder builder(IGenericClient client) {
    return new Builder(client);
  }

  /** How this repository marks sessions on the remote server. */
  public SessionMarker sessionMarker() {
    return marker;
  }

  @Override
  public Optional<Resource> read(String type, String id) {
    try {
      return Optional.of(fromRemote((Resource) client.read().resource(type).withId(id).execute()));
    } catch (ResourceNotFoundException | ResourceGoneException e) {
      return Optional.empty();
    } catch (BaseServerResponseException e) {
      throw wrap(e, type + "/" + id);
    }
  }

  @Override
  public Optional<Resource> vread(String type, String id, String version) {
    try {
      return Optional.of(fromRemote((Resource) client.read().resource(type)
          .withIdAndVersion(id, version).execute()));
    } catch (ResourceNotFoundException | ResourceGoneException e) {
      return Optional.empty();
    } catch (BaseServerResponseException e) {
      throw wrap(e, type + "/" + id);
    }
  }

  @Override
  public Resource create(Resource resource) {
    try {
      Resource sent = toRemote(resource);
      probeFor(resource);
      var outcome = client.create().resource(sent).execute();
      return read(resource.fhirType(), outcome.getId().getIdPart()).orElseThrow();
    } catch (BaseServerResponseException e) {
      throw wrap(e, resource.fhirType());
    }
  }

  @Override
  public Resource update(Resource resource) {
    try {
      Resource sent = toRemote(resource);
      probeFor(resource);
      client.update().resource(sent).execute();
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
      c.sessionTag().ifPresent(v -> {
        if (marker == SessionMarker.SOURCE) {
          q.where(new UriClientParam("_source").matches().value(SESSION_SOURCE_PREFIX + v));
        } else {
          q.withTag(FhirResourceRepository.SESSION_TAG_SYSTEM, v);
        }
      });
      if (c.limit() < Integer.MAX_VALUE) {
        q.count(Math.min(c.limit(), 1000));
      }
      List<Resource> out = new ArrayList<>();
      int foreign = 0;
      Bundle page = q.execute();
      while (page != null) {
        for (Bundle.BundleEntryComponent e : page.getEntry()) {
          if (out.size() >= c.limit()) {
            return out;
          }
          if (!e.hasResource()) {
            continue; // an OperationOutcome's entry has one; a bare entry has nothing to give
          }
          Resource r = fromRemote(e.getResource());
          String session = FhirResourceRepository.sessionOf(r).orElse(null);
          if (c.sessionTag().isPresent() && !c.sessionTag().get().equals(session)) {
            // the server ignored or widened the search by session: keep none of those, and do
            // not page through the whole server for them
            if (++foreign > MAX_FOREIGN_IN_SESSION_SEARCH) {
              throw new FhirRepositoryException(503, type, "the FHIR server behind the SoFA"
                  + " ignores the search by session (" + (marker == SessionMarker.SOURCE
                  ? "_source" : "_tag") + "): it answered with more than "
                  + MAX_FOREIGN_IN_SESSION_SEARCH + " resources of other sessions; use a server"
                  + " that supports that search parameter");
            }
            continue;
          }
          if (r.fhirType().equals(type) && c.sessionFilter().test(session)) {
            out.add(r);
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
    Bundle sent = outgoing(transaction);
    for (Bundle.BundleEntryComponent e : transaction.getEntry()) {
      if (e.hasResource()) {
        probeFor(e.getResource());
        break;
      }
    }
    String answer;
    try {
      answer = client.transaction().withBundle(json(sent)).execute();
    } catch (BaseServerResponseException e) {
      throw wrap(e, "Bundle");
    }
    Bundle usual = TransactionAnswers.read(answer, sent.getEntry().size());
    if (usual != null) {
      return usual;
    }
    // any other answer, as HAPI's parsers read it: JSON screened first (numbers HAPI's JSON
    // reader would expand, depth), XML by HAPI's XML parser, as the generic client read them
    int first = FhirJsonBodies.contentStart(answer);
    char c = first < answer.length() ? answer.charAt(first) : ' ';
    try {
      org.hl7.fhir.instance.model.api.IBaseResource read = c == '{'
          ? FhirJsonBodies.parse(client.getFhirContext(), answer, "transaction answer")
          : c == '<' ? client.getFhirContext().newXmlParser().parseResource(answer) : null;
      if (read instanceof Bundle) {
        return (Bundle) read;
      }
    } catch (RuntimeException e) {
      // HaloParseException, HAPI's DataFormatException, or a HAPI defect on hostile input:
      // the answer is at fault either way
    }
    throw new FhirRepositoryException(502, "Bundle", "the FHIR server behind the SoFA answered"
        + " a transaction with what is not a Bundle");
  }

  /**
   * {@code tx} as FHIR JSON: by {@link ModelJson} (HAPI's JSON for the same resources, written
   * from the model's element lists, a third of the time of HAPI's encoder), or by HAPI's encoder
   * where ModelJson leaves a resource to it.
   */
  private String json(Bundle tx) {
    Optional<byte[]> fast = ModelJson.write(tx);
    return fast.isPresent() ? new String(fast.get(), java.nio.charset.StandardCharsets.UTF_8)
        : client.getFhirContext().newJsonParser().encodeResourceToString(tx);
  }

  /**
   * With {@link SessionMarker#SOURCE}, before the first write of a session's resource: checks
   * that the server keeps the marker, with a Patient that holds nothing but the marker of a
   * session of its own (created, read back, deleted). A server that drops or rewrites
   * {@code meta.source} would otherwise store the session's patient data as its own data, which
   * every reader may see, in its history too. Fails with 503 and writes nothing of the session.
   * Until a probe succeeds, every such write probes first.
   */
  private void probeFor(Resource written) {
    if (marker != SessionMarker.SOURCE || sourceKept
        || FhirResourceRepository.sessionOf(written).isEmpty()) {
      return;
    }
    String probeSession = "probe-" + java.util.UUID.randomUUID();
    org.hl7.fhir.r4.model.Patient probe = new org.hl7.fhir.r4.model.Patient();
    probe.getMeta().setSource(SESSION_SOURCE_PREFIX + probeSession);
    String id = null;
    boolean kept;
    try {
      id = client.create().resource(probe).execute().getId().getIdPart();
      Resource back = (Resource) client.read().resource("Patient").withId(id).execute();
      kept = sessionFromSource(back.getMeta().hasSource() ? back.getMeta().getSource() : null)
          .filter(probeSession::equals).isPresent();
    } catch (BaseServerResponseException e) {
      throw wrap(e, "Patient");
    } finally {
      if (id != null) {
        try {
          client.delete().resourceById("Patient", id).execute();
        } catch (BaseServerResponseException ignored) {
          // an empty Patient with a probe's marker: nothing of a session's data
        }
      }
    }
    if (!kept) {
      throw new FhirRepositoryException(503, written.fhirType(), "the FHIR server behind the SoFA"
          + " did not keep meta.source, which marks a resource's launch session with"
          + " SessionMarker.SOURCE; use SessionMarker.TAG with this server");
    }
    sourceKept = true;
  }

  /**
   * The session a {@code meta.source} names: empty if it is not a marker, the session id (before
   * any {@code #request-id} the server added) if it is one, and {@link #UNREADABLE_SESSION} for a
   * marker without a usable id, so that such a resource is nobody's to see rather than everyone's.
   */
  private static Optional<String> sessionFromSource(String source) {
    if (source == null || !source.startsWith(SESSION_SOURCE_PREFIX)) {
      return Optional.empty();
    }
    int end = source.indexOf('#', SESSION_SOURCE_PREFIX.length());
    String id = source.substring(SESSION_SOURCE_PREFIX.length(), end < 0 ? source.length() : end);
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!(Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_')) {
        return Optional.of(UNREADABLE_SESSION);
      }
    }
    return Optional.of(id.isEmpty() ? UNREADABLE_SESSION : id);
  }

  /**
   * A copy of {@code tx} as the remote server is sent it: without the links from its entries'
   * references to resource objects other than their own contained ones (found without following
   * any link, so a chain of links costs one visit per element; the objects linked, the caller's,
   * are not touched), without conditional request headers (a caller of {@code $set-context} is
   * never to make the server match, and so name, a resource already there), and each resource
   * marked ({@link #mark}).
   */
  private Bundle outgoing(Bundle tx) {
    Bundle copy = tx.copy();
    for (Bundle.BundleEntryComponent e : copy.getEntry()) {
      if (e.hasResource()) {
        Links.cut(e.getResource());
        mark(e.getResource(), marker);
      }
      if (e.hasRequest()) {
        e.getRequest().setIfNoneExist(null).setIfMatch(null).setIfNoneMatch(null)
            .setIfModifiedSinceElement(null);
      }
    }
    return copy;
  }

  /** A copy of {@code r} as the remote server keeps it ({@link #mark}). */
  private Resource toRemote(Resource r) {
    Resource copy = r.copy();
    mark(copy, marker);
    return copy;
  }

  /**
   * Marks {@code r} for the remote server. With {@link SessionMarker#SOURCE} the session tag
   * moves into {@code meta.source} and the resource's own source into the {@link
   * #ORIGINAL_SOURCE_EXTENSION}. With either marker, a source of the resource's own that looks
   * like a marker moves into that extension too (only the server names a session, and a
   * repository with the other marker, or after a change of marker, reads both), and any copy of
   * the extension the caller sent is dropped.
   */
  private static void mark(Resource r, SessionMarker marker) {
    Meta meta = r.getMeta();
    String session = FhirResourceRepository.sessionOf(r).orElse(null);
    meta.getExtension().removeIf(x -> ORIGINAL_SOURCE_EXTENSION.equals(x.getUrl()));
    String own = meta.hasSource() ? meta.getSource() : null;
    if (marker == SessionMarker.SOURCE) {
      meta.getTag().removeIf(c -> FhirResourceRepository.SESSION_TAG_SYSTEM.equals(c.getSystem()));
    }
    if (marker == SessionMarker.SOURCE && session != null) {
      meta.setSource(SESSION_SOURCE_PREFIX + session);
    } else if (own != null && own.startsWith(SESSION_SOURCE_PREFIX)) {
      meta.setSourceElement(null);
    } else {
      return;
    }
    if (own != null) {
      meta.addExtension(new Extension(ORIGINAL_SOURCE_EXTENSION, new UriType(own)));
    }
  }

  /**
   * {@code r} as the SoFA keeps it (changed in place, it is the client's fresh object), with
   * either marker: a marker in {@code meta.source} becomes the session tag (a repository reads
   * what the other marker wrote, so changing the marker, or going back to a version that only
   * tags, never shows a past session's resources, history included, as the server's own); the
   * resource's own source comes back from the extension.
   */
  private static Resource fromRemote(Resource r) {
    if (r == null || !r.hasMeta()) {
      return r;
    }
    Meta meta = r.getMeta();
    Optional<String> session = sessionFromSource(meta.hasSource() ? meta.getSource() : null);
    if (session.isPresent()) {
      meta.setSourceElement(null);
    }
    List<Extension> own = new ArrayList<>();
    meta.getExtension().removeIf(x -> ORIGINAL_SOURCE_EXTENSION.equals(x.getUrl()) && own.add(x));
    if (own.size() == 1 && own.get(0).getValue() != null
        && own.get(0).getValue().primitiveValue() != null) {
      meta.setSource(own.get(0).getValue().primitiveValue());
    }
    session.ifPresent(v -> FhirResourceRepository.tagSession(r, v));
    return r;
  }

  /** Builds a {@link RemoteFhirRepository}. */
  public static final class Builder {
    private final IGenericClient client;
    private SessionMarker marker = SessionMarker.TAG;

    private Builder(IGenericClient client) {
      this.client = Objects.requireNonNull(client, "client");
    }

    /** How sessions are marked on the remote server; {@link SessionMarker#TAG} by default. */
    public Builder sessionMarker(SessionMarker v) {
      this.marker = Objects.requireNonNull(v, "sessionMarker");
      return this;
    }

    public RemoteFhirRepository build() {
      return new RemoteFhirRepository(this);
    }
  }

  private static FhirRepositoryException wrap(BaseServerResponseException e, String where) {
    if (e instanceof ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException) {
      // no answer, or one refused before it was read (too large, unsafe for HAPI's parser): a
      // bad gateway, said without HAPI's message, which names the server's internal URL
      return new FhirRepositoryException(502, where, "the FHIR server behind the SoFA could not"
          + " be reached, or its answer could not be read");
    }
    return new FhirRepositoryException(e.getStatusCode(), where,
        "the FHIR server behind the SoFA answered " + e.getStatusCode() + ": " + e.getMessage());
  }
}
