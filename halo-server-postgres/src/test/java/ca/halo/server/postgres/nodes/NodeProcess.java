package ca.halo.server.postgres.nodes;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A {@link NodeMain} in its own JVM: started, then killed the way an operating system kills (SIGKILL). */
final class NodeProcess implements AutoCloseable {
  private final Process process;
  private final URI url;
  private final String name;

  private NodeProcess(Process process, URI url, String name) {
    this.process = process;
    this.url = url;
    this.name = name;
  }

  /** Starts a node and waits until it serves (at most 90 s). */
  static NodeProcess start(String jdbcUrl, int port, URI publicBase, String name) throws Exception {
    String javaBin = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    File log = File.createTempFile("halo-node-" + name + "-", ".log");
    log.deleteOnExit();
    Process p = new ProcessBuilder(List.of(javaBin, "-Xmx384m", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), NodeMain.class.getName(),
        jdbcUrl, Integer.toString(port), publicBase.toString(), name))
        .redirectError(log).start();
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread drain = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) { // read to the end: a full pipe would block the node
          if (line.startsWith("READY ")) {
            ready.complete(line.substring(6).trim());
          }
        }
      } catch (IOException e) {
        // the node is gone
      }
      ready.complete(null);
    }, "node-" + name + "-stdout");
    drain.setDaemon(true);
    drain.start();
    String base = ready.get(90, TimeUnit.SECONDS);
    if (base == null) {
      p.destroyForcibly();
      throw new IllegalStateException("node " + name + " did not start; its log: "
          + java.nio.file.Files.readString(log.toPath()));
    }
    return new NodeProcess(p, URI.create("http://127.0.0.1:" + port), name);
  }

  URI url() {
    return url;
  }

  String name() {
    return name;
  }

  /** SIGKILL: no shutdown hook, no lease given back, connections cut. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
