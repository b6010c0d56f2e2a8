package ca.halo.sofaserver.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnitsTest {
  @Test
  void duration_shortAndIsoForms() {
    assertThat(Units.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Units.duration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Units.duration("8h")).isEqualTo(Duration.ofHours(8));
    assertThat(Units.duration("365d")).isEqualTo(Duration.ofDays(365));
    assertThat(Units.duration("PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Units.duration("P1D")).isEqualTo(Duration.ofDays(1));
    assertThatThrownBy(() -> Units.duration("30")).hasMessageContaining("not a duration");
    assertThatThrownBy(() -> Units.duration("8 hours")).hasMessageContaining("not a duration");
  }

  @Test
  void size_bytesAndBinaryUnits() {
    assertThat(Units.size("65536")).isEqualTo(65536);
    assertThat(Units.size("64KiB")).isEqualTo(65536);
    assertThat(Units.size("10MiB")).isEqualTo(10L << 20);
    assertThatThrownBy(() -> Units.size("10 MiBs")).hasMessageContaining("not a size");
  }

  @Test
  void closest_suggestsOnlyAClearWinner() {
    List<String> env = List.copyOf(Schema.byEnvironmentName().keySet());
    assertThat(Suggestions.closest("HALO_STORE_POSTGRE_URL", env))
        .hasValue("HALO_STORE_POSTGRES_JDBC_URL");
    assertThat(Suggestions.closest("HALO_SERVER_PROT", env)).hasValue("HALO_SERVER_PORT");
    assertThat(Suggestions.closest("HALO_NOTHING_LIKE_IT", env)).isEmpty();
    assertThat(Suggestions.closest("publicBaseURL", Schema.children("server")))
        .hasValue("publicBaseUrl");
  }
}
