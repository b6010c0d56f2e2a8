package ca.halo.sofaserver.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the server's own files (clients, catalog) with a size bound checked before reading. */
public final class TextFiles {
  /** The largest clients or catalog file read. */
  public static final long MAX_BYTES = 8L << 20;

  private TextFiles() {}

  /**
   * The file as UTF-8 text.
   *
   * @throws IOException if it cannot be read or holds more than {@link #MAX_BYTES}
   */
  public static String read(Path file) throws IOException {
    long size = Files.size(file);
    if (size > MAX_BYTES) {
      throw new IOException("larger than " + (MAX_BYTES >> 20) + " MiB (" + size + " bytes)");
    }
    byte[] b;
    try (var in = Files.newInputStream(file)) {
      b = in.readNBytes((int) MAX_BYTES + 1); // the file may have grown since
    }
    if (b.length > MAX_BYTES) {
      throw new IOException("larger than " + (MAX_BYTES >> 20) + " MiB");
    }
    return new String(b, StandardCharsets.UTF_8);
  }
}
