package ca.halo.examples.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A HAPI FHIR JPA server (H2 in files under a temporary directory, deleted after) in a JVM of its own, started from the
 * {@code halo-bench-hapi-jpa} module's build, so that the targets against HAPI JPA are measured in
 * the same run on the same machine. The module is built only in the {@code bench} profile; without
 * its build the targets fall back to the earlier reading and say so.
 */
final class HapiJpaProcess implements AutoCloseable {
  /** The system property naming the module's {@code target} directory (set by the bench profile). */
  static final String HOME_PROPERTY = "halo.bench.hapiJpaHome";
  /** CPUs to run the server on (taskset's list, e.g. {@code 1}); all of them when not set. */
  static final String CPUS_PROPERTY = "halo.bench.hapiJpaCpus";

  private final Process process;
  private final String base;
  private final Path data;

  private HapiJpaProcess(Process process, String base, Path data) {
    this.process = process;
    this.base = base;
    this.data = data;
  }

  /** The module's build output, if it was built: its {@code target} directory. */
  static Path home() {
    String dir = System.getProperty(HOME_PROPERTY);
    Path target = dir != null ? Path.of(dir) : Path.of("halo-bench-hapi-jpa", "target");
    return Files.isRegularFile(target.resolve("classpath.txt")) ? target : null;
  }

  /** Starts the server and waits (up to 5 minutes) until it prints its FHIR base. */
  static HapiJpaProcess start(Path target) throws IOException, InterruptedException {
    String cp = target.resolve("classes") + java.io.File.pathSeparator
        + Files.readString(target.resolve("classpath.txt"), StandardCharsets.UTF_8).trim();
    String javaCmd = ProcessHandle.current().info().command().orElse("java");
    // the same heap and collector a jurisdiction would give it beside the SoFA's 4 GB
    // H2 in files, as HAPI's starter keeps it: in memory, 50,000 transactions filled a 2 GB heap
    // and HAPI JPA spent its time in full collections
    Path data = Files.createTempDirectory("halo-bench-hapi-jpa");
    List<String> cmd = new java.util.ArrayList<>();
    String cpus = System.getProperty(CPUS_PROPERTY);
    if (cpus != null && !cpus.isBlank()) {
      // on CPUs of its own (Linux taskset): the harness then runs on the others, so that what the
      // SoFA's hop costs is not read through the two servers taking CPU from each other
      cmd.addAll(List.of("taskset", "-c", cpus));
    }
    cmd.addAll(List.of(javaCmd, "-Xmx2g", "-Dhapijpa.exitOnStdinEof=true"));
    if (System.getProperty("hapijpa.jdbcUrl") == null) {
      cmd.add("-Dhapijpa.jdbcUrl=jdbc:h2:file:" + data.resolve("hapi"));
    }
    // its own settings pass through: -Dhapijpa.tagStorage=NON_VERSIONED|INLINE, -Dhapijpa.jdbcUrl=...
    System.getProperties().stringPropertyNames().stream().sorted()
        .filter(k -> k.startsWith("hapijpa.") && !k.equals("hapijpa.exitOnStdinEof"))
        .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
    cmd.addAll(List.of("-cp", cp, "ca.halo.bench.hapijpa.HapiJpaServer", "0"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    long t0 = System.nanoTime();
    Process p = pb.start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          if (line.startsWith("HAPI JPA base: ")) {
            return line.substring("HAPI JPA base: ".length()).trim();
          }
        }
        return null;
      } catch (IOException e) {
        return null;
      }
    });
    String base;
    try {
      base = ready.get(5, TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      base = null;
    }
    if (base == null) {
      p.destroyForcibly();
      delete(data);
      throw new IllegalStateException("the HAPI JPA server did not start (see its output above)");
    }
    // keep draining its output so it never blocks on a full pipe
    Thread drain = new Thread(() -> {
      try {
        out.transferTo(java.io.Writer.nullWriter());
      } catch (IOException ignored) {
        // it ended
      }
    }, "hapi-jpa-output");
    drain.setDaemon(true);
    drain.start();
    System.out.printf("  HAPI FHIR JPA server (own JVM, -Xmx2g, %s) up in %.1f s at %s%n",
        System.getProperty("hapijpa.tagStorage", "HAPI's default tag storage") + ", "
        + System.getProperty("hapijpa.jdbcUrl", "H2 in files")
        + (cpus != null && !cpus.isBlank() ? ", on CPUs " + cpus + " only" : ""),
        (System.nanoTime() - t0) / 1e9, base);
    return new HapiJpaProcess(p, base, data);
  }

  /** Its FHIR base, e.g. {@code http://127.0.0.1:41234/fhir}. */
  String base() {
    return base;
  }

  /** The CPU time of the server's JVM so far, all its threads; null where the system does not say. */
  java.time.Duration cpu() {
    return process.info().totalCpuDuration().orElse(null);
  }

  /** The server's process id (Java's, also under taskset, which runs it in its own process). */
  long pid() {
    return process.pid();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
    delete(data);
  }

  private static void delete(Path dir) {
    try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
      all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory: the system cleans it up otherwise
    }
  }
}
