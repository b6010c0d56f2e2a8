package ca.halo.sofaserver;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code java -jar halo-sofa-server.jar --config ...} as a process of its own, with its output kept. */
final class SofaProcess implements AutoCloseable {
  static final Path JAR = Path.of("target", "halo-sofa-server.jar");
  private static final Pattern READY = Pattern.compile("ready in (\\d+) ms from JVM start");

  private final Process process;
  private final String name;
  private final URI url;
  private final List<String> output = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Long> ready = new CompletableFuture<>();
  private Thread drainer;

  private SofaProcess(Process process, String name, URI url) {
    this.process = process;
    this.name = name;
    this.url = url;
  }

  /** Starts the jar and waits (at most 120 s) until it logs that it is ready. */
  static SofaProcess start(Path config, String name, int port, Map<String, String> env)
      throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(List.of(java, "-Xmx384m", "-XX:TieredStopAtLevel=1",
        "-jar", JAR.toAbsolutePath().toString(), "--config", config.toString()))
        .redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("HALO_"));
    pb.environment().putAll(env);
    pb.environment().put("HALO_SERVER_PORT", Integer.toString(port));
    pb.environment().put("HALO_SERVER_NODE_NAME", name);
    SofaProcess p = new SofaProcess(pb.start(), name, URI.create("http://127.0.0.1:" + port));
    Thread drain = new Thread(p::drain, "sofa-" + name + "-output");
    drain.setDaemon(true);
    p.drainer = drain;
    drain.start();
    Long ms = p.ready.get(120, TimeUnit.SECONDS);
    if (ms == null) {
      throw new IllegalStateException("node " + name + " did not start:\n"
          + String.join("\n", p.output));
    }
    return p;
  }

  private void drain() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) { // to the end: a full pipe would block the node
        if (output.size() < 20_000) {
          output.add(line);
        }
        Matcher m = READY.matcher(line);
        if (m.find()) {
          ready.complete(Long.parseLong(m.group(1)));
        }
      }
    } catch (IOException e) {
      // the process is gone
    }
    ready.complete(null);
  }

  String name() {
    return name;
  }

  URI url() {
    return url;
  }

  /** Milliseconds from the JVM's start to ready, as the node logged it. */
  long readyMillis() {
    return ready.getNow(-1L);
  }

  /** What the process printed (stdout and stderr), line by line. */
  List<String> output() {
    return List.copyOf(output);
  }

  /** SIGKILL: no shutdown hook runs, no lease is given back. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
    drainer.join(5_000);
  }

  /** SIGTERM: the graceful stop; returns the exit code. */
  int terminate() throws Exception {
    // kill -TERM as an orchestrator sends it: Process.destroy() would also close the pipes, and
    // what the node prints while it stops would be lost
    new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).start().waitFor();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    drainer.join(5_000); // what it printed last
    return process.exitValue();
  }

  boolean alive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
