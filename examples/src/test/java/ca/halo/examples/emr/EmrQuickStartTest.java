package ca.halo.examples.emr;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The copy-paste example must keep working. */
class EmrQuickStartTest {
  @Test
  void main_runsTheWholePocFlow() throws Exception {
    PrintStream saved = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      EmrQuickStart.main(new String[0]);
    } finally {
      System.setOut(saved);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    assertThat(out).contains("launch the app at").contains("the SoFA holds Patient/my-emr-patient-42 as Patient/")
        .contains("cleared: information: context cleared; 2 resource(s) deleted");
  }
}
