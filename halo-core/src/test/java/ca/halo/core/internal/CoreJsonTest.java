package ca.halo.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.FhirContextItem;
import ca.halo.core.HaloParseException;
import ca.halo.core.LaunchContext;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import org.junit.jupiter.api.Test;

class CoreJsonTest {

  @Test
  void launchContext_tokenResponseNode_readsContextIgnoresTheRest() {
    ObjectNode tokenResponse = Json.parseObject("{\"access_token\":\"a\",\"token_type\":\"Bearer\","
        + "\"patient\":\"p1\",\"need_patient_banner\":false,\"fhirContext\":[{\"reference\":"
        + "\"ServiceRequest/5\"},{\"identifier\":{\"value\":\"v\"},\"type\":\"DocumentReference\"}]}",
        "test");
    LaunchContext c = CoreJson.launchContext(tokenResponse);
    assertThat(c.patient()).contains("p1");
    assertThat(c.needPatientBanner()).contains(false);
    assertThat(c.fhirContext()).hasSize(2);
    assertThat(c).isEqualTo(LaunchContext.parse(Json.write(tokenResponse)))
        .hasSameHashCodeAs(LaunchContext.parse(Json.write(tokenResponse)));
  }

  @Test
  void node_readBack_sameMembersAsTheyCame() {
    // an item without "type" stays without one (the reference() factory would derive it)
    String json = "{\"patient\":\"p1\",\"fhirContext\":[{\"reference\":\"ServiceRequest/5\"}],"
        + "\"smart_style_url\":\"https://s.example/style.json\",\"fhirUser\":\"Practitioner/9\"}";
    ObjectNode in = Json.parseObject(json, "test");
    assertThat(CoreJson.node(CoreJson.launchContext(in))).isEqualTo(in);
  }

  @Test
  void node_everyField_roundTrips() {
    LaunchContext c = LaunchContext.builder().patient("1").encounter("2").needPatientBanner(true)
        .intent("i").tenant("t").fhirUser("Practitioner/9")
        .smartStyleUrl(URI.create("https://s.example/style.json"))
        .addFhirContext(FhirContextItem.reference("ServiceRequest/5").withRole("http://x/role"))
        .addFhirContext(FhirContextItem.canonical("http://q", "Questionnaire"))
        .addFhirContext(FhirContextItem.identifier("urn:sys", "v", "DocumentReference"))
        .build();
    assertThat(CoreJson.launchContext(CoreJson.node(c))).isEqualTo(c);
  }

  @Test
  void fhirContextItem_noTarget_parseException() {
    assertThatThrownBy(() -> CoreJson.fhirContextItem(Json.parseObject("{\"type\":\"X\"}", "t")))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("exactly one");
  }

  @Test
  void fhirContextItem_roleLaunch_parseException() {
    assertThatThrownBy(() -> CoreJson.fhirContextItem(
        Json.parseObject("{\"reference\":\"a/b\",\"role\":\"launch\"}", "t")))
        .isInstanceOf(HaloParseException.class).hasMessageContaining("role");
  }
}
