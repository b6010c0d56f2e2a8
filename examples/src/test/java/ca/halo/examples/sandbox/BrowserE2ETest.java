package ca.halo.examples.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The web EMR in headless Chromium (Debian's chromium, driven by playwright-core): sign in,
 * Launch, the app's banner and context, a write-back, and the EMR showing it. Screenshots land in
 * {@code target/e2e-screenshots/}.
 *
 * <p>Runs in the {@code browser-e2e} Maven profile, which turns on by itself where
 * {@code /usr/bin/chromium} exists (.ci/run installs it) and runs {@code npm ci} first.
 */
class BrowserE2ETest {
  @Test
  void webEmr_launchInChromium_appShowsContextAndEmrShowsWriteBack() throws Exception {
    Path e2e = Path.of("src/test/e2e").toAbsolutePath();
    assertThat(e2e.resolve("node_modules/playwright-core")).as(
        "playwright-core is missing: run 'npm ci' in examples/src/test/e2e (.ci/run does)").exists();
    assertThat(Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"))).as(
        "Chromium is missing: apt-get install chromium (.ci/run does)").exists();
    Path shots = Path.of("target/e2e-screenshots").toAbsolutePath();
    try (Jurisdiction j = Serve.withWebPages("127.0.0.1", 0)) {
      Process p = new ProcessBuilder("node", "emr-launch.mjs", j.sofa.baseUrl().toString(), shots.toString())
          .directory(e2e.toFile()).redirectErrorStream(true).start();
      boolean done = p.waitFor(180, TimeUnit.SECONDS);
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!done) {
        p.destroyForcibly();
      }
      assertThat(done).as("the browser run timed out: " + out).isTrue();
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out).contains("E2E OK").contains("Élodie Bouchard").contains("18.7");
    }
    for (String shot : new String[] {"1-emr-chart.png", "2-app-launched.png", "3-app-saved.png",
        "4-emr-write-back.png"}) {
      assertThat(size(shots.resolve(shot))).as(shot).isGreaterThan(1000);
    }
  }

  private static long size(Path p) throws IOException {
    return Files.exists(p) ? Files.size(p) : 0;
  }
}
