package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ca.halo.core.SmartScopes;
import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.internal.Links;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.ContextManager;
import ca.halo.server.sofa.ContextOperationException;
import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/**
 * The in-memory links HAPI's parser puts on references between the entries of a Bundle (inside
 * {@code $set-context}'s Parameters the entries have no id): no walk follows them (a chain of
 * entries each naming the next twice would cost 2^n visits), no repository stores or forwards a
 * contained copy of a linked entry, the caller's objects are left alone, and a server that refuses
 * to delete a resource still referenced can still clear the context.
 */
class TransactionLinksTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private static final Principal EMR = Principal.builder("emr-client").subject("dr.x")
      .scopes(SmartScopes.parse("user/Context.write")).build();

  private static String uuid(int i) {
    return String.format("urn:uuid:00000000-0000-4000-8000-%012d", i);
  }

  private static String params(String entries) {
    return "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resources\",\"resource\":"
        + "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + entries + "]}}]}";
  }

  private static String entry(String fullUrl, String type, String body) {
    return "{\"fullUrl\":\"" + fullUrl + "\",\"resource\":{\"resourceType\":\"" + type + "\"" + body
        + "},\"request\":{\"method\":\"POST\",\"url\":\"" + type + "\"}}";
  }

  /** n Observations, entry i naming entry i+1 twice: a few KB, far inside every size bound. */
  private static String diamondChain(int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      String members = i < n - 1
          ? ",\"hasMember\":[{\"reference\":\"" + uuid(i + 1) + "\"},{\"reference\":\"" + uuid(i + 1) + "\"}]"
          : "";
      sb.append(i > 0 ? "," : "").append(entry(uuid(i), "Observation",
          ",\"status\":\"final\",\"code\":{\"text\":\"x\"}" + members));
    }
    return params(sb.toString());
  }

  private static Bundle bundleOf(String parametersJson) {
    Parameters p = CTX.newJsonParser().parseResource(Parameters.class, parametersJson);
    return (Bundle) p.getParameter("resources").getResource();
  }

  /** Forwards {@code tx} to a loopback stand-in; returns the body it received. */
  private static String forward(Bundle tx) throws Exception {
    String[] caught = new String[1];
    com.sun.net.httpserver.HttpServer s = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", x -> {
      caught[0] = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      byte[] a = "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\"}".getBytes(StandardCharsets.UTF_8);
      x.getResponseHeaders().add("Content-Type", "application/fhir+json");
      x.sendResponseHeaders(200, a.length);
      x.getResponseBody().write(a);
      x.close();
    });
    s.start();
    try (HaloHttp http = HaloHttp.defaults()) {
      new RemoteFhirRepository(FhirClients.anonymousClient(CTX,
          URI.create("http://127.0.0.1:" + s.getAddress().getPort() + "/fhir"), http)).transaction(tx);
    } finally {
      s.stop(0);
    }
    return caught[0];
  }

  @Test
  void links_aChainOfSharedLinks_isWalkedOncePerElement() {
    Bundle b = bundleOf(diamondChain(40));
    Resource first = b.getEntry().get(0).getResource();
    // the premise: the parser linked the references (else nothing here is tested)
    assertThat(((org.hl7.fhir.r4.model.Observation) first).getHasMemberFirstRep().getResource()).isNotNull();
    List<org.hl7.fhir.r4.model.Reference> refs = assertTimeoutPreemptively(Duration.ofSeconds(5),
        () -> Links.references(first));
    assertThat(refs).hasSize(2);
    assertThat(Links.linked(first)).isTrue();
    Links.cut(first);
    assertThat(Links.linked(first)).isFalse();
    // only the resource walked was changed, not the one it linked to
    assertThat(((org.hl7.fhir.r4.model.Observation) b.getEntry().get(1).getResource())
        .getHasMemberFirstRep().getResource()).isNotNull();
  }

  @Test
  void remote_aChainOfSharedLinks_isForwardedInBoundedTime_asReferences() {
    Bundle tagged = bundleOf(diamondChain(40)).copy(); // as ContextManager.write forwards it
    String sent = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> forward(tagged));
    Bundle got = CTX.newJsonParser().parseResource(Bundle.class, sent);
    assertThat(got.getEntry()).hasSize(40);
    assertThat(sent).doesNotContain("contained");
    assertThat(((org.hl7.fhir.r4.model.Observation) got.getEntry().get(0).getResource())
        .getHasMemberFirstRep().getReference()).isEqualTo(uuid(1));
  }

  @Test
  void inMemory_aChainOfSharedLinks_isStoredInBoundedTime_asReferences() {
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    ContextManager cm = ContextManager.builder(repo, new InMemoryLaunchContextStore(10)).build();
    Parameters in = CTX.newJsonParser().parseResource(Parameters.class, diamondChain(40));
    Parameters out = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> cm.setContext(in, EMR));
    Bundle response = (Bundle) out.getParameter("resourcesResponse").getResource();
    String first = response.getEntry().get(0).getResponse().getLocation().replaceAll("/_history.*", "");
    String second = response.getEntry().get(1).getResponse().getLocation().replaceAll("/_history.*", "");
    org.hl7.fhir.r4.model.Observation stored = (org.hl7.fhir.r4.model.Observation)
        repo.read("Observation", first.substring("Observation/".length())).orElseThrow();
    assertThat(stored.getContained()).isEmpty();
    assertThat(stored.getHasMember()).extracting(org.hl7.fhir.r4.model.Reference::getReference)
        .containsExactly(second, second);
  }

  @Test
  void remote_leavesTheCallersObjectsAlone_behindTwoLinks() throws Exception {
    Bundle parsed = bundleOf(params(
        entry(uuid(1), "Patient", ",\"name\":[{\"family\":\"P\"}]") + ","
        + entry(uuid(2), "Encounter", ",\"status\":\"finished\",\"subject\":{\"reference\":\"" + uuid(1) + "\"}") + ","
        + entry(uuid(3), "Observation", ",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
            + "\"encounter\":{\"reference\":\"" + uuid(2) + "\"}")));
    Encounter enc = (Encounter) parsed.getEntry().get(1).getResource();
    assertThat(enc.getSubject().getResource()).isNotNull(); // the premise
    String sent = forward(parsed);
    assertThat(enc.getSubject().getResource()).as("the caller's Encounter keeps its link").isNotNull();
    assertThat(sent).doesNotContain("contained");
  }

  @Test
  void setContext_aFullUrlThatIsNotAbsolute_isRefused() {
    ContextManager cm = ContextManager.builder(new InMemoryFhirRepository(CTX),
        new InMemoryLaunchContextStore(10)).build();
    for (String fullUrl : List.of("#p", "Patient/p", "p")) {
      Parameters in = CTX.newJsonParser().parseResource(Parameters.class, params(
          entry(fullUrl, "Patient", ",\"name\":[{\"family\":\"P\"}]") + ","
          + entry(uuid(2), "Encounter", ",\"status\":\"finished\",\"subject\":{\"reference\":\"" + fullUrl + "\"}")));
      assertThatThrownBy(() -> cm.setContext(in, EMR)).as(fullUrl)
          .isInstanceOfSatisfying(ContextOperationException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(400);
            assertThat(e.getMessage()).contains("fullUrl must be absolute");
          });
    }
  }

  /**
   * A server that refuses to delete a resource another one still references (HAPI JPA's default,
   * 409): $clear-context deletes what was written last first, so the Patient goes last.
   */
  @Test
  void clearContext_onAServerThatKeepsReferencedResources_deletesEverything() {
    Referential repo = new Referential();
    ContextManager cm = ContextManager.builder(repo, new InMemoryLaunchContextStore(10)).build();
    Parameters in = CTX.newJsonParser().parseResource(Parameters.class, params(
        entry(uuid(1), "Patient", ",\"name\":[{\"family\":\"P\"}]") + ","
        + entry(uuid(2), "Encounter", ",\"status\":\"finished\",\"subject\":{\"reference\":\"" + uuid(1) + "\"}") + ","
        + entry(uuid(3), "Observation", ",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
            + "\"subject\":{\"reference\":\"" + uuid(1) + "\"},\"encounter\":{\"reference\":\"" + uuid(2) + "\"}")));
    Parameters set = cm.setContext(in, EMR);
    assertThat(repo.live).hasSize(3);
    Parameters clear = new Parameters();
    clear.addParameter().setName("launchID").setValue(new StringType(
        ((StringType) set.getParameter("launchID").getValue()).getValue()));
    cm.clearContext(clear, EMR);
    assertThat(repo.live).isEmpty();
    assertThat(repo.refused).isZero();
  }

  /** The in-memory repository, refusing (409) to delete a resource another live one references. */
  private static final class Referential implements FhirResourceRepository {
    final InMemoryFhirRepository d = new InMemoryFhirRepository(CTX);
    final Set<String> live = new LinkedHashSet<>();
    int refused;

    @Override public Optional<Resource> read(String type, String id) { return d.read(type, id); }
    @Override public Optional<Resource> vread(String type, String id, String v) { return d.vread(type, id, v); }
    @Override public Resource create(Resource r) { return d.create(r); }
    @Override public Resource update(Resource r) { return d.update(r); }
    @Override public List<Resource> search(String type, SearchCriteria c) { return d.search(type, c); }

    @Override
    public Bundle transaction(Bundle tx) {
      Bundle r = d.transaction(tx);
      for (Bundle.BundleEntryComponent e : r.getEntry()) {
        live.add(e.getResponse().getLocation().replaceAll("/_history.*", ""));
      }
      return r;
    }

    @Override
    public boolean delete(String type, String id) {
      String me = type + "/" + id;
      for (String other : new ArrayList<>(live)) {
        String[] p = other.split("/");
        Resource r = other.equals(me) ? null : d.read(p[0], p[1]).orElse(null);
        if (r != null && Links.references(r).stream().anyMatch(ref -> me.equals(ref.getReference()))) {
          refused++;
          throw new FhirRepositoryException(409, type, me + " is referenced by " + other);
        }
      }
      live.remove(me);
      return d.delete(type, id);
    }
  }
}
