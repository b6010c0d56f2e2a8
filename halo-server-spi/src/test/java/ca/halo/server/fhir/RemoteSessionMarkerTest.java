package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.SmartScopes;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.ContextManager;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.HashMapResourceProvider;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Server;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How {@link RemoteFhirRepository} marks a launch session on the remote server, against HAPI's
 * own RestfulServer with its HashMapResourceProviders on Jetty, on loopback. Those providers
 * ignore {@code _tag} and {@code _source} and return every resource of the type (as any server
 * that does not support a search parameter may), which is the case the session filter must hold
 * against. An interceptor plays what real servers do with {@code meta.source}: HAPI FHIR JPA adds
 * {@code #request-id}; a server that does not keep it drops it.
 */
class RemoteSessionMarkerTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private static final Principal EMR = Principal.builder("emr-client").subject("dr.x")
      .scopes(SmartScopes.parse("user/Context.write")).build();

  private enum SourceHandling { KEEP, ADD_REQUEST_ID, DROP }

  private final HashMapResourceProvider<Patient> patients = new HashMapResourceProvider<>(CTX, Patient.class);
  private final HashMapResourceProvider<Encounter> encounters = new HashMapResourceProvider<>(CTX, Encounter.class);
  private final HashMapResourceProvider<Observation> observations =
      new HashMapResourceProvider<>(CTX, Observation.class);
  private volatile SourceHandling sources = SourceHandling.ADD_REQUEST_ID;
  private volatile Bundle lastTransaction;
  /** When set, the transaction answers its first entry with this existing resource (200), as a match. */
  private volatile String answerFirstWith;
  /** When set, the transaction answers each entry with the stored resource too (an unusual shape). */
  private volatile boolean answerWithResources;
  private Server jetty;
  private HaloHttp http;
  private IGenericClient raw;

  @BeforeEach
  void start() throws Exception {
    RestfulServer fhir = new RestfulServer(CTX);
    fhir.setResourceProviders(patients, encounters, observations);
    fhir.setPlainProviders(new TransactionProvider());
    fhir.registerInterceptor(new Sources());
    jetty = LoopbackFhir.start(fhir);
    http = HaloHttp.defaults();
    raw = FhirClients.anonymousClient(CTX, LoopbackFhir.base(jetty), http);
  }

  @AfterEach
  void stop() throws Exception {
    jetty.stop();
    http.close();
  }

  private RemoteFhirRepository repo(RemoteFhirRepository.SessionMarker marker) {
    return RemoteFhirRepository.builder(raw).sessionMarker(marker).build();
  }

  private static Patient patient(String family, String session) {
    Patient p = new Patient();
    p.addName().setFamily(family);
    FhirResourceRepository.tagSession(p, session);
    return p;
  }

  private static List<String> families(List<Resource> found) {
    return found.stream().map(r -> ((Patient) r).getNameFirstRep().getFamily()).toList();
  }

  @Test
  void tag_searchBySession_keepsOnlyThatSessions_whenTheServerIgnoresTheParameter() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.TAG);
    assertThat(repo.sessionMarker()).isEqualTo(RemoteFhirRepository.SessionMarker.TAG);
    repo.create(patient("Mine", "s1"));
    repo.create(patient("Theirs", "s2"));
    repo.create(patient("ServerOwn", null));
    // the premise: this server answers a _tag search with every Patient
    assertThat(raw.search().forResource(Patient.class).withTag(FhirResourceRepository.SESSION_TAG_SYSTEM, "s1")
        .returnBundle(Bundle.class).execute().getEntry()).hasSize(3);
    assertThat(families(repo.search("Patient", SearchCriteria.builder().sessionTag("s1").build())))
        .containsExactly("Mine");
    assertThat(families(repo.search("Patient", SearchCriteria.builder().build())))
        .containsExactlyInAnyOrder("Mine", "Theirs", "ServerOwn");
  }

  /** A server that ignores the parameter is not paged through to its end for one session. */
  @Test
  void searchBySession_onAServerThatIgnoresIt_failsOnceTooManyOthersComeBack() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.TAG);
    for (int i = 0; i <= RemoteFhirRepository.MAX_FOREIGN_IN_SESSION_SEARCH; i++) {
      patients.store(patient("Other" + i, "other"));
    }
    assertThatThrownBy(() -> repo.search("Patient", SearchCriteria.builder().sessionTag("s1").build()))
        .isInstanceOfSatisfying(FhirRepositoryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(503);
          assertThat(e.getMessage()).contains("ignores the search by session (_tag)");
        });
    // a search not by session is not bounded by this
    assertThat(repo.search("Patient", SearchCriteria.builder().build()))
        .hasSize(RemoteFhirRepository.MAX_FOREIGN_IN_SESSION_SEARCH + 1);
  }

  @Test
  void source_theSessionTravelsInMetaSource_andReadsBackAsTheTag_withTheResourcesOwnSource() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    Patient p = patient("Mine", "s1");
    p.getMeta().setSource("http://emr.example.ca/feed");
    p.getMeta().addTag("http://example.org/tags", "keep", null);
    Resource created = repo.create(p);
    String id = created.getIdElement().getIdPart();

    Patient onServer = raw.read().resource(Patient.class).withId(id).execute();
    assertThat(onServer.getMeta().getSource())
        .startsWith(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "s1#"); // the interceptor's request id
    assertThat(onServer.getMeta().getTag()).extracting(t -> t.getSystem()).containsExactly("http://example.org/tags");
    assertThat(onServer.getMeta().getExtensionByUrl(RemoteFhirRepository.ORIGINAL_SOURCE_EXTENSION).getValue()
        .primitiveValue()).isEqualTo("http://emr.example.ca/feed");

    for (Resource r : List.of(created, repo.read("Patient", id).orElseThrow())) {
      assertThat(FhirResourceRepository.sessionOf(r)).contains("s1");
      assertThat(r.getMeta().getSource()).isEqualTo("http://emr.example.ca/feed");
      assertThat(r.getMeta().getExtension()).isEmpty();
      assertThat(r.getMeta().getTag()).extracting(t -> t.getSystem())
          .containsExactlyInAnyOrder("http://example.org/tags", FhirResourceRepository.SESSION_TAG_SYSTEM);
    }
    // the caller's object is left as it was
    assertThat(p.getMeta().getSource()).isEqualTo("http://emr.example.ca/feed");
    assertThat(FhirResourceRepository.sessionOf(p)).contains("s1");

    Patient changed = (Patient) created;
    changed.getNameFirstRep().setFamily("Changed");
    Resource updated = repo.update(changed);
    assertThat(FhirResourceRepository.sessionOf(updated)).contains("s1");
    assertThat(FhirResourceRepository.sessionOf(repo.vread("Patient", id, "1").orElseThrow())).contains("s1");
  }

  @Test
  void source_searchBySession_keepsOnlyThatSessions_whenTheServerIgnoresTheParameter() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    repo.create(patient("Mine", "s1"));
    repo.create(patient("Theirs", "s2"));
    Patient own = patient("ServerOwn", null);
    own.getMeta().setSource("http://lab.example.ca");
    repo.create(own);
    assertThat(families(repo.search("Patient", SearchCriteria.builder().sessionTag("s1").build())))
        .containsExactly("Mine");
    assertThat(repo.search("Patient", SearchCriteria.builder().sessionFilter(s -> s == null).build()))
        .singleElement().satisfies(r -> assertThat(r.getMeta().getSource()).startsWith("http://lab.example.ca#"));
  }

  /** Only the server names a session: a caller's own marker must not put a resource in one. */
  @Test
  void source_aCallersOwnMarker_outsideASession_doesNotReadBackAsThatSession() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    repo.create(patient("Victim", "victim-session"));
    Patient planted = patient("Planted", null);
    planted.getMeta().setSource(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "victim-session");
    String id = repo.create(planted).getIdElement().getIdPart();

    Patient onServer = raw.read().resource(Patient.class).withId(id).execute();
    assertThat(onServer.getMeta().hasSource()).isFalse();
    Resource back = repo.read("Patient", id).orElseThrow();
    assertThat(FhirResourceRepository.sessionOf(back)).isEmpty();
    assertThat(families(repo.search("Patient", SearchCriteria.builder().sessionTag("victim-session").build())))
        .containsExactly("Victim");

    // nor does a caller's own copy of the extension change what reads back
    Patient second = patient("Second", "s2");
    second.getMeta().addExtension(RemoteFhirRepository.ORIGINAL_SOURCE_EXTENSION,
        new org.hl7.fhir.r4.model.UriType(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "victim-session"));
    Resource stored = repo.create(second);
    assertThat(FhirResourceRepository.sessionOf(stored)).contains("s2");
    assertThat(stored.getMeta().hasSource()).isFalse();
  }

  @Test
  void source_transaction_marksEveryEntry_andLeavesTheCallersBundleAlone() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    tx.addEntry().setFullUrl("urn:uuid:11111111-1111-4111-8111-111111111111").setResource(patient("Tx", "s9"))
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL).getCode().setText("x");
    FhirResourceRepository.tagSession(o, "s9");
    tx.addEntry().setFullUrl("urn:uuid:22222222-2222-4222-8222-222222222222").setResource(o)
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    Bundle response = repo.transaction(tx);
    assertThat(response.getEntry()).hasSize(2);
    for (Bundle.BundleEntryComponent e : response.getEntry()) {
      IIdType id = new org.hl7.fhir.r4.model.IdType(e.getResponse().getLocation());
      Resource onServer = (Resource) raw.read().resource(id.getResourceType()).withId(id.getIdPart()).execute();
      assertThat(onServer.getMeta().getSource()).startsWith(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "s9");
      assertThat(FhirResourceRepository.sessionOf(onServer)).isEmpty();
      assertThat(FhirResourceRepository.sessionOf(repo.read(id.getResourceType(), id.getIdPart()).orElseThrow()))
          .contains("s9");
    }
    assertThat(FhirResourceRepository.sessionOf(tx.getEntry().get(0).getResource())).contains("s9");
    assertThat(tx.getEntry().get(0).getResource().getMeta().hasSource()).isFalse();
  }

  /**
   * The marker is checked with a probe that holds no patient data, before any of the session's
   * data reaches the server: a server that dropped it would keep that data unmarked, in its
   * history too, where every reader may see it as the server's own.
   */
  @Test
  void source_onAServerThatDropsMetaSource_theFirstCreateFailsClosed_andWritesNothingOfTheSession() {
    sources = SourceHandling.DROP;
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    assertThatThrownBy(() -> repo.create(patient("Lost", "s1")))
        .isInstanceOfSatisfying(FhirRepositoryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(503);
          assertThat(e.getMessage()).contains("SessionMarker.TAG");
        });
    assertThat(repo.search("Patient", SearchCriteria.builder().build())).isEmpty();
    // every version the server ever held: only the probe, which names nobody
    assertThat(patients.historyType()).isNotEmpty().allSatisfy(p -> assertThat(p.getName()).isEmpty());
    // a write outside any session needs no marker and is not refused
    assertThat(repo.create(patient("ServerOwn", null)).getIdElement().getIdPart()).isNotEmpty();
  }

  @Test
  void source_theProbeRunsOnce_thenWritesGoStraightThrough() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    repo.create(patient("One", "s1"));
    long created = patients.getCountCreate();
    repo.create(patient("Two", "s1"));
    assertThat(patients.getCountCreate()).isEqualTo(created + 1);
  }

  /** Conditional headers never reach the server, whatever the caller of the repository sent. */
  @Test
  void transaction_sendsNoConditionalRequestHeaders() {
    for (RemoteFhirRepository.SessionMarker marker : RemoteFhirRepository.SessionMarker.values()) {
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      Bundle.BundleEntryRequestComponent rq = tx.addEntry().setFullUrl("urn:uuid:11111111-1111-4111-8111-111111111111")
          .setResource(patient("Cond", "s1")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
      rq.setIfNoneExist("identifier=urn:x|victim").setIfMatch("W/\"1\"").setIfNoneMatch("*")
          .setIfModifiedSince(new java.util.Date());
      repo(marker).transaction(tx);
      Bundle.BundleEntryRequestComponent sent = lastTransaction.getEntryFirstRep().getRequest();
      assertThat(sent.hasIfNoneExist() || sent.hasIfMatch() || sent.hasIfNoneMatch() || sent.hasIfModifiedSince())
          .as(marker.name()).isFalse();
      assertThat(tx.getEntryFirstRep().getRequest().hasIfNoneExist()).as("the caller's Bundle is left alone").isTrue();
    }
  }

  /**
   * The usual answer (status and location only) is read without HAPI's parser; an answer of
   * another shape (here with each entry's resource) is read by HAPI's parser, whole, as before.
   */
  @Test
  void transaction_anAnswerOfAnotherShape_isReadWhole() {
    for (boolean withResources : new boolean[] {false, true}) {
      answerWithResources = withResources;
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      tx.addEntry().setFullUrl("urn:uuid:11111111-1111-4111-8111-111111111111")
          .setResource(patient("Shape", "s1")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
      Bundle answer = repo(RemoteFhirRepository.SessionMarker.TAG).transaction(tx);
      assertThat(answer.getEntry()).hasSize(1);
      assertThat(answer.getEntryFirstRep().getResponse().getLocation()).startsWith("Patient/");
      assertThat(answer.getEntryFirstRep().hasResource()).as("with resources: " + withResources)
          .isEqualTo(withResources);
      if (withResources) {
        assertThat(((Patient) answer.getEntryFirstRep().getResource()).getNameFirstRep().getFamily())
            .isEqualTo("Shape");
      }
    }
  }

  /**
   * A server that answers a transaction with what is not a transaction-response fails it with
   * a typed 502 that does not repeat the answer or name the server's URL, not a parser's
   * exception; and quickly, also where the answer hides a number HAPI's JSON reader would expand
   * for hours behind what strict JSON refuses (a leading form feed or ideographic space, single
   * quotes, a leading +; the forwarding review), whatever its Content-Type.
   */
  @Test
  void transaction_anAnswerThatIsNoBundle_failsWith502() throws Exception {
    jetty.stop();
    String huge = "\"type\":\"transaction-response\",\"entry\":[{\"search\":{\"score\":1E+50000000},"
        + "\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/1\"}}]}";
    String[][] answers = {
        {"application/fhir+json", "{\"resourceType\":\"Patient\",\"id\":\"1\"}"},
        {"text/plain", "secret internal text"},
        {"text/html", "<html><body>internal page</body></html>"},
        {"application/fhir+json", ""},
        {"application/fhir+json", "\f{\"resourceType\":\"Bundle\"," + huge},
        {"text/plain", "\f{\"resourceType\":\"Bundle\"," + huge},
        {"application/fhir+xml", "\u3000{\"resourceType\":\"Bundle\"," + huge},
        {"application/fhir+json", "{'resourceType':'Bundle'," + huge},
        {"application/fhir+json", "{\"resourceType\":\"Bundle\"," + huge.replace("1E+", "+1E+")}};
    String[] answer = new String[2];
    org.eclipse.jetty.server.Server odd = new org.eclipse.jetty.server.Server(0);
    odd.setHandler(new org.eclipse.jetty.server.Handler.Abstract() {
      @Override
      public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
          org.eclipse.jetty.util.Callback callback) {
        response.getHeaders().put("Content-Type", answer[0]);
        response.write(true, java.nio.ByteBuffer.wrap(answer[1].getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            callback);
        return true;
      }
    });
    odd.start();
    try {
      String base = "http://127.0.0.1:" + ((org.eclipse.jetty.server.ServerConnector) odd.getConnectors()[0])
          .getLocalPort() + "/fhir";
      IGenericClient client = FhirClients.anonymousClient(CTX, java.net.URI.create(base), http);
      for (String[] a : answers) {
        answer[0] = a[0];
        answer[1] = a[1];
        Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
        tx.addEntry().setFullUrl("urn:uuid:11111111-1111-4111-8111-111111111111")
            .setResource(patient("Odd", "s1")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(5), () ->
            assertThatThrownBy(() -> RemoteFhirRepository.builder(client).build().transaction(tx)).as(a[1])
                .isInstanceOfSatisfying(FhirRepositoryException.class, e -> {
                  assertThat(e.httpStatus()).isEqualTo(502);
                  assertThat(e.getMessage()).doesNotContain(base).doesNotContain("secret").doesNotContain("internal");
                }));
      }
    } finally {
      odd.stop();
    }
  }

  /**
   * A repository reads both markers, so changing from source back to tag (or going back to a
   * version that only tags) never shows a past session's resources, history included, as the
   * server's own; and a tag-marking repository moves a caller's marker-like source aside, so a
   * source-marking one never reads it as a session.
   */
  @Test
  void eitherMarker_readsTheOthersMarks_andNeitherLetsACallerPlantOne() {
    RemoteFhirRepository source = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    RemoteFhirRepository tag = repo(RemoteFhirRepository.SessionMarker.TAG);
    String id = source.create(patient("Past", "past-session")).getIdElement().getIdPart();
    source.delete("Patient", id);
    assertThat(FhirResourceRepository.sessionOf(tag.vread("Patient", id, "1").orElseThrow())).contains("past-session");

    Patient planted = patient("Planted", "mine");
    planted.getMeta().setSource(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "victim-session");
    String pid = tag.create(planted).getIdElement().getIdPart();
    for (RemoteFhirRepository r : List.of(source, tag)) {
      Resource back = r.read("Patient", pid).orElseThrow();
      assertThat(FhirResourceRepository.sessionOf(back)).contains("mine");
      assertThat(back.getMeta().getSource()).isEqualTo(RemoteFhirRepository.SESSION_SOURCE_PREFIX + "victim-session");
    }
  }

  /** What the server holds that no SoFA wrote: odd markers and extensions read safely. */
  @Test
  void oddMarksOnTheServer_readAsNobodysSession_andNeverFailTheRead() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    sources = SourceHandling.KEEP;
    Map<String, String> expected = new java.util.LinkedHashMap<>();
    for (String src : List.of("", "#rq1", "bad session", "a/b", "\u00e9t\u00e9")) {
      Patient p = new Patient();
      p.getMeta().setSource(RemoteFhirRepository.SESSION_SOURCE_PREFIX + src);
      expected.put(raw.create().resource(p).execute().getId().getIdPart(), src);
    }
    expected.forEach((id, src) -> assertThat(FhirResourceRepository.sessionOf(repo.read("Patient", id).orElseThrow()))
        .as(src).contains(RemoteFhirRepository.UNREADABLE_SESSION));

    Patient twice = new Patient();
    twice.getMeta().addExtension(RemoteFhirRepository.ORIGINAL_SOURCE_EXTENSION, new org.hl7.fhir.r4.model.UriType("http://a"));
    twice.getMeta().addExtension(RemoteFhirRepository.ORIGINAL_SOURCE_EXTENSION, new org.hl7.fhir.r4.model.UriType("http://b"));
    twice.getMeta().addExtension(RemoteFhirRepository.ORIGINAL_SOURCE_EXTENSION, new StringType("x"));
    String id = raw.create().resource(twice).execute().getId().getIdPart();
    Resource back = repo.read("Patient", id).orElseThrow();
    assertThat(back.getMeta().getExtension()).isEmpty();
    assertThat(back.getMeta().hasSource()).isFalse();
    assertThat(FhirResourceRepository.sessionOf(back)).isEmpty();
  }

  @Test
  void source_onAServerThatDropsMetaSource_theFirstTransactionFailsClosed_andLeavesNothing() {
    sources = SourceHandling.DROP;
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.SOURCE);
    ContextManager cm = ContextManager.builder(repo, new InMemoryLaunchContextStore(10))
        .allowedTypes(java.util.Set.of("Patient", "Encounter", "Observation")).build();
    assertThatThrownBy(() -> cm.setContext(setContext(), EMR))
        .hasMessageContaining("meta.source");
    assertThat(repo.search("Patient", SearchCriteria.builder().build())).isEmpty();
    assertThat(repo.search("Encounter", SearchCriteria.builder().build())).isEmpty();
  }

  /**
   * The whole of a session on the remote server: {@code $set-context} stores it marked,
   * {@code $clear-context} deletes it and nothing else, though the server answers each search
   * by session with every resource of the type.
   */
  @Test
  void setAndClearContext_deleteThatSessionsResourcesOnly_withEitherMarker() {
    for (RemoteFhirRepository.SessionMarker marker : RemoteFhirRepository.SessionMarker.values()) {
      patients.clear();
      encounters.clear();
      observations.clear();
      RemoteFhirRepository repo = repo(marker);
      ContextManager cm = ContextManager.builder(repo, new InMemoryLaunchContextStore(10))
        .allowedTypes(java.util.Set.of("Patient", "Encounter", "Observation")).build();
      repo.create(patient("ServerOwn", null));
      Parameters mine = cm.setContext(setContext(), EMR);
      Parameters theirs = cm.setContext(setContext(), EMR);
      assertThat(repo.search("Patient", SearchCriteria.builder().build())).as(marker.name()).hasSize(3);
      cm.clearContext(clear(mine), EMR);
      assertThat(families(repo.search("Patient", SearchCriteria.builder().build()))).as(marker.name())
          .containsExactlyInAnyOrder("ServerOwn", "Ctx");
      assertThat(repo.search("Encounter", SearchCriteria.builder().build())).as(marker.name()).hasSize(1);
      cm.clearContext(clear(theirs), EMR);
      assertThat(families(repo.search("Patient", SearchCriteria.builder().build()))).as(marker.name())
          .containsExactly("ServerOwn");
    }
  }

  @Test
  void setContext_aConditionalEntry_isRefused_beforeAnythingIsWritten() {
    ContextManager cm = ContextManager.builder(repo(RemoteFhirRepository.SessionMarker.TAG),
        new InMemoryLaunchContextStore(10)).allowedTypes(java.util.Set.of("Patient", "Encounter", "Observation")).build();
    for (String field : List.of("\"ifNoneExist\":\"identifier=urn:x|1\"", "\"ifMatch\":\"W/\\\"1\\\"\"",
        "\"ifNoneMatch\":\"*\"", "\"ifModifiedSince\":\"2026-01-01T00:00:00Z\"")) {
      String json = CTX.newJsonParser().encodeResourceToString(setContext())
          .replace("\"method\":\"POST\",\"url\":\"Patient\"", "\"method\":\"POST\",\"url\":\"Patient\"," + field);
      assertThat(json).as("premise").contains(field);
      Parameters in = CTX.newJsonParser().parseResource(Parameters.class, json);
      assertThatThrownBy(() -> cm.setContext(in, EMR)).as(field)
          .isInstanceOfSatisfying(ca.halo.server.sofa.ContextOperationException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(400);
            assertThat(e.getMessage()).contains("conditional requests");
          });
    }
    assertThat(lastTransaction).isNull();
  }

  /**
   * A server that answers an entry with a resource it already had (as a conditional create that
   * matched does): the context must not name it, nor its $clear-context delete it.
   */
  @Test
  void setContext_whenTheServerDidNotCreateEveryEntry_failsAndDeletesOnlyWhatItCreated() {
    RemoteFhirRepository repo = repo(RemoteFhirRepository.SessionMarker.TAG);
    String victim = repo.create(patient("Victim", "victim-session")).getIdElement().getIdPart();
    InMemoryLaunchContextStore store = new InMemoryLaunchContextStore(10);
    ContextManager cm = ContextManager.builder(repo, store)
        .allowedTypes(java.util.Set.of("Patient", "Encounter", "Observation")).build();
    answerFirstWith = "Patient/" + victim + "/_history/1";
    assertThatThrownBy(() -> cm.setContext(setContext(), EMR))
        .isInstanceOfSatisfying(ca.halo.server.sofa.ContextOperationException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(502);
          assertThat(e.getMessage()).contains("200 OK for entry 0");
        });
    assertThat(families(repo.search("Patient", SearchCriteria.builder().build()))).containsExactly("Victim");
    assertThat(repo.search("Encounter", SearchCriteria.builder().build())).isEmpty();
    assertThat(store.size()).isZero();
  }

  private static Parameters setContext() {
    return CTX.newJsonParser().parseResource(Parameters.class,
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resources\",\"resource\":"
        + "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        + "{\"fullUrl\":\"urn:uuid:11111111-1111-4111-8111-111111111111\",\"resource\":{\"resourceType\":\"Patient\","
        + "\"name\":[{\"family\":\"Ctx\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
        + "{\"fullUrl\":\"urn:uuid:22222222-2222-4222-8222-222222222222\",\"resource\":{\"resourceType\":\"Encounter\","
        + "\"status\":\"in-progress\"},\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}}]}}]}");
  }

  private static Parameters clear(Parameters set) {
    Parameters p = new Parameters();
    p.addParameter().setName("launchID").setValue(new StringType(
        ((StringType) set.getParameter("launchID").getValue()).getValue()));
    return p;
  }

  /** What the remote server does with meta.source on what it is sent. */
  @Interceptor
  public final class Sources {
    @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
    public void incoming(RequestDetails request) {
      if (request.getResource() instanceof Bundle b) {
        b.getEntry().stream().filter(Bundle.BundleEntryComponent::hasResource).forEach(e -> apply(e.getResource()));
      } else if (request.getResource() instanceof Resource r) {
        apply(r);
      }
    }

    private void apply(Resource r) {
      if (sources == SourceHandling.DROP) {
        r.getMeta().setSourceElement(null);
      } else if (sources == SourceHandling.ADD_REQUEST_ID && r.getMeta().hasSource()) {
        r.getMeta().setSource(r.getMeta().getSource() + "#rq" + Integer.toHexString(System.identityHashCode(r)));
      }
    }
  }

  /** A transaction of creates, stored in the providers (references are not rewritten: not needed here). */
  public final class TransactionProvider {
    @Transaction
    public Bundle transaction(@TransactionParam Bundle in) {
      lastTransaction = in.copy();
      Map<String, HashMapResourceProvider<?>> byType = Map.of("Patient", patients, "Encounter", encounters,
          "Observation", observations);
      Bundle out = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
      for (Bundle.BundleEntryComponent e : in.getEntry()) {
        if (answerFirstWith != null && out.getEntry().isEmpty()) {
          out.addEntry().getResponse().setStatus("200 OK").setLocation(answerFirstWith);
          continue;
        }
        Resource r = e.getResource().copy();
        r.setId((String) null);
        IIdType id = store(byType.get(r.fhirType()), r);
        Bundle.BundleEntryComponent answer = out.addEntry();
        answer.getResponse().setStatus("201 Created").setLocation(id.toUnqualified().getValue());
        if (answerWithResources) {
          Resource stored = r.copy();
          stored.setIdElement(new org.hl7.fhir.r4.model.IdType(id.toUnqualified().getValue()));
          answer.setResource(stored);
        }
      }
      return out;
    }

    @SuppressWarnings("unchecked")
    private <T extends org.hl7.fhir.instance.model.api.IBaseResource> IIdType store(
        HashMapResourceProvider<T> provider, Resource r) {
      return provider.store((T) r);
    }
  }
}
