package ca.halo.core.internal.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.fhir.FhirClients;
import ca.halo.core.http.HaloHttp;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;

/**
 * HAPI's model scan runs on a thread of its own from the first generic client (issue 18: the
 * first call's largest cost). A context used from other threads while it scans must behave as
 * one that never warmed, and must not lock up (HAPI scans under the context's monitor).
 */
class FhirWarmUpTest {
  private static Bundle sample(int i) {
    Patient p = new Patient();
    p.setId("p" + i);
    p.addName().setFamily("Tremblay-" + i).addGiven("Élise");
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setSubject(new Reference("Patient/p" + i));
    o.getCode().addCoding().setSystem("http://loinc.org").setCode("29463-7");
    Bundle b = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    b.addEntry().setFullUrl("urn:uuid:" + i).setResource(p).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    b.addEntry().setResource(o).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    return b;
  }

  @Test
  void aContextUsedOnEightThreadsWhileItWarms_encodesAndParsesAsOneThatNeverWarmed() throws Exception {
    FhirContext cold = FhirContext.forR4();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      expected.add(cold.newJsonParser().encodeResourceToString(sample(i)));
    }
    assertThat(FhirWarmUp.started(cold)).isFalse();

    FhirContext warming = FhirContext.forR4();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try (HaloHttp http = HaloHttp.defaults()) {
      List<Future<String>> out = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        int n = i;
        out.add(pool.submit(() -> {
          // the first of these starts the warm-up; all of them make clients and encode meanwhile
          IGenericClient c = FhirClients.anonymousClient(warming, URI.create("http://127.0.0.1:9/fhir"), http);
          assertThat(c.getFhirContext()).isSameAs(warming);
          String json = warming.newJsonParser().encodeResourceToString(sample(n));
          Bundle back = warming.newJsonParser().parseResource(Bundle.class, json);
          return warming.newJsonParser().encodeResourceToString(back);
        }));
      }
      for (int i = 0; i < 8; i++) {
        assertThat(out.get(i).get(60, TimeUnit.SECONDS)).isEqualTo(expected.get(i));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(FhirWarmUp.started(warming)).isTrue();
  }

  @Test
  void warmUp_startsOncePerContext_andTheContextWorksMeanwhile() {
    FhirContext ctx = FhirContext.forR4();
    assertThat(FhirWarmUp.started(ctx)).isFalse();
    FhirClients.warmUp(ctx);
    assertThat(FhirWarmUp.started(ctx)).isTrue();
    FhirClients.warmUp(ctx); // a second call is harmless
    String json = ctx.newJsonParser().encodeResourceToString(sample(3));
    assertThat(ctx.newJsonParser().parseResource(Bundle.class, json).getEntry()).isNotEmpty();
  }
}
