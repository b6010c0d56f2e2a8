package ca.halo.sofaserver.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches files by polling their modification time and size; when one changes, hands it to its
 * loader. A loader that throws leaves the previous state in place: the problem is logged at WARN
 * once per version of the file, and the file is tried again when it changes next.
 *
 * <p>One daemon thread, {@code halo-sofa-reload}, stopped by {@link #close()}. Thread-safe.
 */
public final class FileReloader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FileReloader.class);

  private final ScheduledExecutorService timer;
  private final List<Watched> watched = new CopyOnWriteArrayList<>();

  private static final class Watched {
    final String key;
    final Path file;
    final Consumer<Path> loader;
    String seen;

    Watched(String key, Path file, Consumer<Path> loader, String seen) {
      this.key = key;
      this.file = file;
      this.loader = loader;
      this.seen = seen;
    }
  }

  /** Polls every {@code interval}. */
  public FileReloader(Duration interval) {
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "halo-sofa-reload");
      t.setDaemon(true);
      return t;
    });
    long ms = interval.toMillis();
    timer.scheduleWithFixedDelay(this::poll, ms, ms, TimeUnit.MILLISECONDS);
  }

  /**
   * Watches {@code file} (already loaded in its current version).
   *
   * @param key the configuration key, for log lines
   * @param loader loads the file and swaps it in; throws if the file is invalid
   */
  public void watch(String key, Path file, Consumer<Path> loader) {
    watched.add(new Watched(Objects.requireNonNull(key), Objects.requireNonNull(file),
        Objects.requireNonNull(loader), signature(file)));
  }

  private void poll() {
    for (Watched w : watched) {
      String now = signature(w.file);
      if (now.equals(w.seen)) {
        continue;
      }
      w.seen = now;
      try {
        w.loader.accept(w.file);
        LOG.info("{}: reloaded {}", w.key, w.file);
      } catch (RuntimeException | Error e) {
        // an Error too (a file too large for memory): the watcher must outlive any one version
        LOG.warn("{}: {} is invalid, keeping the previous version: {}", w.key, w.file,
            e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      }
    }
  }

  private static String signature(Path file) {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      return a.lastModifiedTime().toMillis() + "/" + a.size() + "/" + a.fileKey();
    } catch (IOException e) {
      return "missing";
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
