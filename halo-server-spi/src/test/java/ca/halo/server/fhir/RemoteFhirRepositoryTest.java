package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.HashMapResourceProvider;
import java.net.URI;
import org.eclipse.jetty.server.Server;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RemoteFhirRepository against an independent FHIR server: HAPI's own RestfulServer with its
 * HashMapResourceProvider, on Jetty, on loopback.
 */
class RemoteFhirRepositoryTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private Server jetty;
  private HaloHttp http;
  private RemoteFhirRepository repo;

  @BeforeEach
  void start() throws Exception {
    RestfulServer fhir = new RestfulServer(CTX);
    fhir.setResourceProviders(new HashMapResourceProvider<>(CTX, Patient.class));
    jetty = LoopbackFhir.start(fhir);
    http = HaloHttp.defaults();
    repo = new RemoteFhirRepository(FhirClients.anonymousClient(CTX,
        LoopbackFhir.base(jetty), http));
  }

  @AfterEach
  void stop() throws Exception {
    jetty.stop();
    http.close();
  }

  @Test
  void crudAndSearch_throughTheRemoteServer() {
    Patient p = new Patient();
    p.addName().setFamily("Remote");
    Resource created = repo.create(p);
    String id = created.getIdElement().getIdPart();
    assertThat(repo.read("Patient", id)).hasValueSatisfying(r ->
        assertThat(((Patient) r).getNameFirstRep().getFamily()).isEqualTo("Remote"));
    Patient changed = (Patient) created;
    changed.getNameFirstRep().setFamily("Changed");
    Resource updated = repo.update(changed);
    assertThat(updated.getMeta().getVersionId()).isEqualTo("2");
    assertThat(repo.vread("Patient", id, "1")).hasValueSatisfying(r ->
        assertThat(((Patient) r).getNameFirstRep().getFamily()).isEqualTo("Remote"));
    assertThat(repo.search("Patient", SearchCriteria.builder().id(id).build())).hasSize(1);
    assertThat(repo.delete("Patient", id)).isTrue();
    assertThat(repo.read("Patient", id)).isEmpty();
    assertThat(repo.read("Patient", "never-existed")).isEmpty();
  }

  @Test
  void transaction_unsupportedByTheRemote_isARepositoryErrorWithItsStatus() {
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    tx.addEntry().setResource(new Patient()).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    assertThatThrownBy(() -> repo.transaction(tx))
        .isInstanceOfSatisfying(FhirRepositoryException.class, e -> assertThat(e.httpStatus()).isBetween(400, 599));
  }

  /**
   * A $set-context Bundle as the SoFA forwards it: parsed (the parser links references between
   * entries to the entries' resource objects), copied and tagged. The remote server must get the
   * references as written, not a contained copy of the Patient in every resource that names it
   * (which HAPI's encoder made of a linked resource until this was fixed).
   */
  @Test
  void transaction_referencesBetweenEntries_reachTheServerAsWritten_notAsContainedCopies() throws Exception {
    String json = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        + "{\"fullUrl\":\"urn:uuid:11111111-1111-4111-8111-111111111111\",\"resource\":{\"resourceType\":\"Patient\","
        + "\"name\":[{\"family\":\"Linked\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
        + "{\"fullUrl\":\"urn:uuid:22222222-2222-4222-8222-222222222222\",\"resource\":{\"resourceType\":\"Encounter\","
        + "\"status\":\"in-progress\",\"subject\":{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"}},"
        + "\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}},"
        + "{\"fullUrl\":\"urn:uuid:33333333-3333-4333-8333-333333333333\",\"resource\":{\"resourceType\":\"Observation\","
        + "\"contained\":[{\"resourceType\":\"Device\",\"id\":\"dev\"}],\"status\":\"final\","
        + "\"code\":{\"text\":\"x\"},\"device\":{\"reference\":\"#dev\"},"
        + "\"subject\":{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"},"
        + "\"encounter\":{\"reference\":\"urn:uuid:22222222-2222-4222-8222-222222222222\"}},"
        + "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}";
    // inside a $set-context Parameters, as the SoFA receives it (there the parser gives the entries'
    // resources no id from their fullUrl, so HAPI's encoder contained the linked ones)
    org.hl7.fhir.r4.model.Parameters params = CTX.newJsonParser().parseResource(org.hl7.fhir.r4.model.Parameters.class,
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resources\",\"resource\":" + json + "}]}");
    Bundle parsed = (Bundle) params.getParameter("resources").getResource();
    org.hl7.fhir.r4.model.Encounter enc = (org.hl7.fhir.r4.model.Encounter) parsed.getEntry().get(1).getResource();
    // the premise: the parser linked the entry (else this test proves nothing)
    assertThat(enc.getSubject().getResource()).isSameAs(parsed.getEntry().get(0).getResource());
    Bundle forwarded = parsed.copy();
    for (Bundle.BundleEntryComponent e : forwarded.getEntry()) {
      FhirResourceRepository.tagSession(e.getResource(), "s1");
    }

    byte[][] caught = new byte[1][];
    com.sun.net.httpserver.HttpServer s = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", x -> {
      caught[0] = x.getRequestBody().readAllBytes();
      byte[] answer = ("{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":["
          + "{\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/1/_history/1\"}},"
          + "{\"response\":{\"status\":\"201 Created\",\"location\":\"Encounter/2/_history/1\"}},"
          + "{\"response\":{\"status\":\"201 Created\",\"location\":\"Observation/3/_history/1\"}}]}")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      x.getResponseHeaders().add("Content-Type", "application/fhir+json");
      x.sendResponseHeaders(200, answer.length);
      x.getResponseBody().write(answer);
      x.close();
    });
    s.start();
    try {
      RemoteFhirRepository remote = new RemoteFhirRepository(FhirClients.anonymousClient(CTX,
          URI.create("http://127.0.0.1:" + s.getAddress().getPort() + "/fhir"), http));
      Bundle answer = remote.transaction(forwarded);
      assertThat(answer.getEntry()).hasSize(3);
    } finally {
      s.stop(0);
    }

    String sent = new String(caught[0], java.nio.charset.StandardCharsets.UTF_8);
    Bundle got = CTX.newJsonParser().parseResource(Bundle.class, sent);
    org.hl7.fhir.r4.model.Encounter e = (org.hl7.fhir.r4.model.Encounter) got.getEntry().get(1).getResource();
    org.hl7.fhir.r4.model.Observation o = (org.hl7.fhir.r4.model.Observation) got.getEntry().get(2).getResource();
    assertThat(e.getContained()).isEmpty();
    assertThat(e.getSubject().getReference()).isEqualTo("urn:uuid:11111111-1111-4111-8111-111111111111");
    assertThat(o.getSubject().getReference()).isEqualTo("urn:uuid:11111111-1111-4111-8111-111111111111");
    assertThat(o.getEncounter().getReference()).isEqualTo("urn:uuid:22222222-2222-4222-8222-222222222222");
    // a contained resource of the caller's own stays, and so does the reference to it
    assertThat(o.getContained()).extracting(r -> r.fhirType()).containsExactly("Device");
    assertThat(o.getDevice().getReference()).isEqualTo("#dev");
    // the Patient once, as its own entry
    assertThat(sent.split("\"family\":\"Linked\"", -1)).hasSize(2);
    assertThat(FhirResourceRepository.sessionOf(e)).contains("s1");
    // the caller's Bundle is not changed
    org.hl7.fhir.r4.model.Encounter mine = (org.hl7.fhir.r4.model.Encounter) forwarded.getEntry().get(1).getResource();
    assertThat(mine.getSubject().getResource()).isNotNull();
  }
}
