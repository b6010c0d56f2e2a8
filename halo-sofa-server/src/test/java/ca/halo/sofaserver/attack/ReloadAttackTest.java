package ca.halo.sofaserver.attack;

import static ca.halo.sofaserver.attack.AttackSupport.config;
import static ca.halo.sofaserver.attack.AttackSupport.enc;
import static ca.halo.sofaserver.attack.AttackSupport.send;
import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.sofaserver.SofaApplication;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * clients.reload: "an invalid version is logged at WARN and the previous one stays in use", and
 * the file is tried again when it changes next. A clients file that is momentarily huge (a
 * runaway generator, a wrong file copied over it; here a sparse 3 GiB file, which costs no disk)
 * makes Files.readString throw OutOfMemoryError, an Error: FileReloader.poll catches only
 * RuntimeException, so the scheduled task dies and no later change of any watched file is ever
 * applied (a client removed or a secret rotated after an incident stays live), silently.
 */
class ReloadAttackTest {
  @TempDir Path dir;

  private static URI authorizeAs(URI base, String clientId, String redirect) {
    return URI.create(base + "/auth/authorize?response_type=code&client_id=" + clientId
        + "&scope=openid&state=s&redirect_uri=" + enc(redirect) + "&aud=" + enc(base + "/fhir")
        + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGWSDMHlBM"
        + "&code_challenge_method=S256");
  }

  @Test
  void hugeClientsFile_once_doesNotStopLaterReloads() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir, Map.of()))) {
      URI base = app.sofa().baseUrl();
      Path clients = dir.resolve("clients.yaml");
      String original = Files.readString(clients);

      try (RandomAccessFile f = new RandomAccessFile(clients.toFile(), "rw")) {
        f.setLength(3L << 30); // sparse
      }
      Thread.sleep(5_000); // two reload rounds: the huge version is tried (and must be refused)
      assertThat(app.clients().find("emr")).as("the previous clients stay").isPresent();

      // the operator fixes the file and adds a client
      Files.writeString(clients, original + """
          - clientId: emr2
            name: Second EMR
            type: confidential
            secret: emr2-secret-0123456789
            redirectUris:
              - http://localhost:9/emr2/callback
            scopes: openid fhirUser user/Context.write
          """);
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (app.clients().find("emr2").isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      assertThat(app.clients().find("emr2"))
          .as("a valid clients file written after a huge one is loaded").isPresent();
      assertThat(send("GET", authorizeAs(base, "emr2", "http://localhost:9/emr2/callback"))
          .statusCode()).isEqualTo(200);
    }
  }

  /**
   * A half-written clients file (here: the file's comment header only, as after a truncating
   * write such as shell redirection or an in-place copy) parses as "no clients" and is swapped in
   * without a warning: every EMR client is unknown until the next poll.
   */
  @Test
  void halfWrittenClientsFile_holdingNoClients_doesNotDropEveryClient() throws Exception {
    try (SofaApplication app = SofaApplication.start(config(dir, Map.of()))) {
      Path clients = dir.resolve("clients.yaml");
      Files.writeString(clients, "# Registered EMR / point-of-care clients.\n# Fields: clientId,");
      Thread.sleep(5_000); // two reload rounds
      assertThat(app.clients().find("emr"))
          .as("clients after the file was seen holding nothing but comments").isPresent();
    }
  }
}
