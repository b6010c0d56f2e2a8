package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link ResourceChangeListener} hears (and so what the subscription topic "SOFA Content
 * Update" numbers): creates and updates through the FHIR API, never the resources
 * {@code $set-context} uploads, nor what {@code $clear-context} deletes.
 */
class ResourceChangeListenerTest {
  record Change(String ref, boolean created, String sessionId) {}

  private final List<Change> changes = new CopyOnWriteArrayList<>();
  private final Browser browser = new Browser();
  private TestSofa sofa;

  @BeforeEach
  void start() throws Exception {
    sofa = new TestSofa(b -> b.onContextManager(m -> m.addChangeListener((r, created, session) ->
        changes.add(new Change(r.fhirType() + "/" + r.getIdElement().getIdPart(), created,
            session)))));
  }

  @AfterEach
  void stop() {
    sofa.close();
  }

  @Test
  void changed_setContextUploads_notNotified_writeBackAndUpdate_notified_clear_notNotified()
      throws Exception {
    String emr = sofa.emrToken(browser, "dr.tremblay", "password");
    String launch = sofa.setContext(emr, "growth-chart");
    // six resources stored by $set-context: the EMR sent them, nobody is told of them
    assertThat(changes).isEmpty();

    JsonNode t = sofa.flows().redeem(sofa.flows().authorizeApp(browser, launch,
        "launch patient/*.rs patient/Observation.cruds"));
    String patientId = t.get("patient").asText();
    IGenericClient app = sofa.fhir(t.get("access_token").asText());

    // a change to what $set-context stored is announced (an update, in the launch's session)
    Observation height = (Observation) app.search().forResource(Observation.class)
        .where(Observation.PATIENT.hasId(patientId)).returnBundle(Bundle.class).execute()
        .getEntryFirstRep().getResource();
    height.setValue(new Quantity().setValue(112).setUnit("cm"));
    app.update().resource(height).execute();
    // the app's write-back is announced (a create, in the launch's session)
    String wbId = app.create().resource(TestSofa.weight(patientId, 21.5)).execute().getId()
        .getIdPart();

    assertThat(changes).hasSize(2);
    assertThat(changes.get(0).ref()).isEqualTo("Observation/" + height.getIdElement().getIdPart());
    assertThat(changes.get(0).created()).isFalse();
    assertThat(changes.get(1)).isEqualTo(
        new Change("Observation/" + wbId, true, changes.get(0).sessionId()));
    assertThat(changes.get(0).sessionId()).isNotNull();

    // $clear-context deletes the session's resources: no change is announced
    sofa.clearContext(emr, launch);
    assertThat(changes).hasSize(2);
  }
}
