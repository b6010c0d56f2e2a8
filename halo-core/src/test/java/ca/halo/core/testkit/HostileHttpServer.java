package ca.halo.core.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback HTTP/1.1 server that answers every request with a body far too large to hold: a
 * declared huge {@code Content-Length}, an endless chunked body, or an endless body delimited by
 * the connection's end. It streams a JSON-looking prefix then a repeated unit, never buffering, and
 * counts the bytes the client actually took, so a test can check the client stopped reading early.
 *
 * <p>{@link #close()} stops it. One daemon thread accepts; one daemon thread serves each connection.
 */
public final class HostileHttpServer implements AutoCloseable {
  /** How the body is framed. */
  public enum Mode {
    /** {@code Content-Length: 1 GiB} (the body really is that long if the client keeps reading). */
    HUGE_CONTENT_LENGTH,
    /** {@code Transfer-Encoding: chunked}, never ending. */
    ENDLESS_CHUNKED,
    /** No length, {@code Connection: close}, never ending. */
    ENDLESS_UNTIL_CLOSE
  }

  public static final long ONE_GIB = 1L << 30;

  private final ServerSocket socket;
  private final Mode mode;
  private final int status;
  private final byte[] prefix;
  private final byte[] unit;
  private final long serverCap;
  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private volatile boolean closed;

  /**
   * @param prefix written first (for example {@code {"apps":[})
   * @param unit repeated after it (for example a listing followed by a comma)
   * @param serverCap the server gives up after this many body bytes per connection, so a client
   *     that reads everything fails the test by its count rather than exhausting the test JVM
   */
  public HostileHttpServer(Mode mode, String prefix, String unit, long serverCap)
      throws IOException {
    this(200, mode, prefix, unit, serverCap);
  }

  /** The same, answering with HTTP {@code status} (an error answer with a hostile body). */
  public HostileHttpServer(int status, Mode mode, String prefix, String unit, long serverCap)
      throws IOException {
    this.status = status;
    this.mode = mode;
    this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
    this.unit = unit.getBytes(StandardCharsets.UTF_8);
    this.serverCap = serverCap;
    this.socket = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "hostile-http-accept");
    t.setDaemon(true);
    t.start();
  }

  /** {@code http://127.0.0.1:port} + {@code path}. */
  public URI url(String path) {
    return URI.create("http://127.0.0.1:" + socket.getLocalPort() + path);
  }

  /** Body bytes written to clients so far (all connections). */
  public long bytesWritten() {
    return bytesWritten.get();
  }

  public long requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = socket.accept();
        Thread t = new Thread(() -> serve(s), "hostile-http-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setSoTimeout(10_000);
      readRequestHead(s.getInputStream());
      requests.incrementAndGet();
      OutputStream out = s.getOutputStream();
      String head;
      switch (mode) {
        case HUGE_CONTENT_LENGTH:
          head = "HTTP/1.1 " + status + " Hostile\r\nContent-Type: application/json\r\nContent-Length: " + ONE_GIB
              + "\r\n\r\n";
          break;
        case ENDLESS_CHUNKED:
          head = "HTTP/1.1 " + status + " Hostile\r\nContent-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n";
          break;
        default:
          head = "HTTP/1.1 " + status + " Hostile\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
          break;
      }
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      long limit = mode == Mode.HUGE_CONTENT_LENGTH ? Math.min(ONE_GIB, serverCap) : serverCap;
      byte[] block = block();
      long sent = 0;
      boolean first = true;
      while (!closed && sent < limit) {
        byte[] data = first ? join(prefix, block) : block;
        first = false;
        int n = (int) Math.min(data.length, limit - sent);
        if (mode == Mode.ENDLESS_CHUNKED) {
          out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(data, 0, n);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        } else {
          out.write(data, 0, n);
        }
        sent += n;
        bytesWritten.addAndGet(n);
      }
      out.flush();
    } catch (IOException e) {
      // the client hung up: what a bounded client does
    }
  }

  private byte[] block() {
    int reps = Math.max(1, 64 * 1024 / Math.max(1, unit.length));
    byte[] b = new byte[reps * unit.length];
    for (int i = 0; i < reps; i++) {
      System.arraycopy(unit, 0, b, i * unit.length, unit.length);
    }
    return b;
  }

  private static byte[] join(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Reads up to the blank line ending the request head, and any request body by Content-Length. */
  private static void readRequestHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      head.append((char) c);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
        break;
      }
      if (head.length() > 64 * 1024) {
        throw new IOException("request head too long");
      }
    }
    for (String line : head.toString().split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("Content-Length")) {
        long n = Long.parseLong(line.substring(colon + 1).trim());
        in.readNBytes((int) Math.min(n, 1 << 20));
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      // already closed
    }
  }
}
