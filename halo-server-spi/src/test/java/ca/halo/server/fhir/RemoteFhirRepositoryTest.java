package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.HashMapResourceProvider;
import java.net.URI;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
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
    jetty = new Server();
    ServerConnector c = new ServerConnector(jetty);
    c.setHost("127.0.0.1");
    jetty.addConnector(c);
    ServletContextHandler h = new ServletContextHandler("/");
    h.addServlet(new ServletHolder(fhir), "/fhir/*");
    jetty.setHandler(h);
    jetty.start();
    http = HaloHttp.defaults();
    repo = new RemoteFhirRepository(FhirClients.anonymousClient(CTX,
        URI.create("http://127.0.0.1:" + c.getLocalPort() + "/fhir"), http));
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
}
