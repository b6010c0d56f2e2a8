package ca.halo.examples.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's main job, run in-process: every step of every flow must pass. */
class SandboxDemoTest {
  @Test
  void demo_allStepsPass() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code = HaloSandbox.demo(HaloSandbox.Options.parse(new String[0]),
        new PrintStream(buf, true, StandardCharsets.UTF_8));
    String out = buf.toString(StandardCharsets.UTF_8);
    assertThat(out).as(out).contains("ALL STEPS PASSED").doesNotContain("FAIL ");
    assertThat(code).isZero();
  }

  @Test
  void demo_onPostgres_allStepsPass() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code = HaloSandbox.demo(HaloSandbox.Options.parse(new String[] {"--store postgres"}),
        new PrintStream(buf, true, StandardCharsets.UTF_8));
    String out = buf.toString(StandardCharsets.UTF_8);
    assertThat(out).as(out).contains("Store        PostgreSQL at jdbc:postgresql://")
        .contains("ALL STEPS PASSED").doesNotContain("FAIL ");
    assertThat(code).isZero();
  }

  @Test
  void options_store() {
    assertThat(HaloSandbox.Options.parse(new String[0]).store).isEqualTo("memory");
    HaloSandbox.Options o = HaloSandbox.Options.parse(new String[] {"--jdbc-url jdbc:postgresql://db/sofa"});
    assertThat(o.store).isEqualTo("postgres");
    assertThat(o.jdbcUrl).isEqualTo("jdbc:postgresql://db/sofa");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> HaloSandbox.Options.parse(new String[] {"--store redis"}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memory or postgres");
  }

  @Test
  void options_parseMavenStyleSingleArgument() {
    HaloSandbox.Options o = HaloSandbox.Options.parse(new String[] {"--serve --port 9090"});
    assertThat(o.serve).isTrue();
    assertThat(o.port).isEqualTo(9090);
    assertThat(HaloSandbox.Options.parse(new String[] {""}).port).isZero();
  }
}
