package ca.halo.interop;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * An identity provider started by a test as a child process on loopback. Start-up failures fail
 * the test with the provider's own last log lines: nothing is skipped silently.
 */
final class ProviderProcess implements AutoCloseable {
  final Process process;
  final Path log;
  final long startupMillis;

  private ProviderProcess(Process process, Path log, long startupMillis) {
    this.process = process;
    this.log = log;
    this.startupMillis = startupMillis;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Starts {@code command} and waits until {@code ready} answers 200. */
  static ProviderProcess start(String name, List<String> command, Path workDir, Map<String, String> env,
      URI ready, Duration timeout, Path log) throws Exception {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    long t0 = System.nanoTime();
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError(name + " could not be started: " + e.getMessage(), e);
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = t0 + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new AssertionError(name + " exited with " + p.exitValue() + " before it was ready:\n" + tail(log));
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          long ms = (System.nanoTime() - t0) / 1_000_000;
          String line = name + " ready in " + ms + " ms";
          System.out.println(line);
          Files.writeString(log.getParent().resolve("startup-times.txt"), line + System.lineSeparator(),
              StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
          return new ProviderProcess(p, log, ms);
        }
      } catch (IOException e) {
        // not listening yet
      }
      p.waitFor(250, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    throw new AssertionError(name + " was not ready within " + timeout + ":\n" + tail(log));
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
