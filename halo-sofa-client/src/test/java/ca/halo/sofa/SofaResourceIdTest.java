package ca.halo.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SofaResourceIdTest {

  @Test
  void fromLocation_withHistory_versionPresent() {
    SofaResourceId id = SofaResourceId.fromLocation("Patient/abc/_history/2");
    assertThat(id.reference()).isEqualTo("Patient/abc");
    assertThat(id.version()).contains("2");
  }

  @Test
  void fromLocation_withoutHistory_versionEmpty() {
    SofaResourceId id = SofaResourceId.fromLocation("Observation/xyz");
    assertThat(id.version()).isEmpty();
    assertThat(id).hasToString("Observation/xyz");
  }
}
