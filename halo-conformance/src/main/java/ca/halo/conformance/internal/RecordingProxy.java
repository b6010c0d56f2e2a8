package ca.halo.conformance.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;

/**
 * The front door of the kit's own SoFA in the {@code poc} target: an HTTP/1.1 proxy that records
 * every request the EMR sends (method, target, headers, body) before passing it on, one request
 * per connection. Websocket upgrades are passed through as bytes. Bodies over 16 MiB and heads
 * over 64 KiB are refused.
 */
public final class RecordingProxy implements AutoCloseable {
  private static final int MAX_HEAD = 64 * 1024;
  private static final int MAX_BODY = 16 * 1024 * 1024;
  /** The record is for one EMR session: bounded, oldest kept (a session's first requests are the ones checked). */
  private static final int MAX_RECORDED = 5_000;
  private static final int MAX_RECORDED_BODY = 4 * 1024 * 1024;
  /** All recorded bodies together; past it, requests are recorded without their body. */
  private static final long MAX_RECORDED_BYTES = 64L * 1024 * 1024;
  /** Connections served at once; more are refused with 503. */
  private static final int MAX_CONNECTIONS = 64;
  /** A request's head and body must arrive within this, however slowly they trickle. */
  private static final long REQUEST_DEADLINE_MS = 10_000;

  /** One request as the EMR sent it, and the status the SoFA answered. */
  public static final class Exchange {
    public final Instant at;
    public final String method;
    public final String target;
    public final Map<String, String> headers;
    public final String body;
    public volatile int status;

    Exchange(String method, String target, Map<String, String> headers, String body) {
      this.at = Instant.now();
      this.method = method;
      this.target = target;
      this.headers = headers;
      this.body = body;
    }

    public String path() {
      int q = target.indexOf('?');
      return q < 0 ? target : target.substring(0, q);
    }

    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder(method).append(' ').append(Redact.query(target)).append('\n');
      headers.forEach((k, v) -> b.append(k).append(": ").append(Redact.header(k, v)).append('\n'));
      if (!body.isEmpty()) {
        b.append('\n').append(Redact.body(header("content-type"), body)).append('\n');
      }
      return b.append("--> HTTP ").append(status).toString();
    }
  }

  /** Rewrites a request body before it goes on (e.g. a Subscription's endpoint); identity by default. */
  public interface Rewriter {
    String rewrite(String method, String path, String body);
  }

  private final ServerSocket server;
  private final ExecutorService pool = new java.util.concurrent.ThreadPoolExecutor(0, MAX_CONNECTIONS, 30,
      java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> {
        Thread t = new Thread(r, "kit-proxy");
        t.setDaemon(true);
        return t;
      });
  private final java.util.concurrent.atomic.AtomicLong recordedBytes = new java.util.concurrent.atomic.AtomicLong();
  private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
  private volatile int backendPort = -1;
  private volatile Rewriter rewriter = (m, p, b) -> b;

  public RecordingProxy(String host, int port) throws IOException {
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getByName(host), port), 64);
    Thread accept = new Thread(this::accept, "kit-proxy-accept");
    accept.setDaemon(true);
    accept.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  public void backend(int port) {
    this.backendPort = port;
  }

  public void rewriter(Rewriter r) {
    this.rewriter = r;
  }

  public List<Exchange> exchanges() {
    return new ArrayList<>(exchanges);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        try {
          pool.execute(() -> serve(s));
        } catch (java.util.concurrent.RejectedExecutionException full) {
          try (s) {
            s.setSoTimeout(1000);
            s.getOutputStream().write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
          } catch (IOException e) {
            // gone already
          }
        }
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      long deadline = System.currentTimeMillis() + REQUEST_DEADLINE_MS;
      client.setSoTimeout((int) REQUEST_DEADLINE_MS);
      InputStream in = new DeadlineInput(client.getInputStream(), client, deadline);
      OutputStream out = client.getOutputStream();
      String head = readHead(in);
      if (head == null) {
        out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        return;
      }
      String[] lines = head.split("\r\n");
      String[] first = lines[0].split(" ", 3);
      if (first.length < 3) {
        return;
      }
      Map<String, String> headers = new LinkedHashMap<>();
      List<String> raw = new ArrayList<>();
      for (int i = 1; i < lines.length; i++) {
        int c = lines[i].indexOf(':');
        if (c > 0) {
          String n = lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT);
          headers.put(n, lines[i].substring(c + 1).trim());
          raw.add(lines[i]);
        }
      }
      boolean upgrade = "websocket".equalsIgnoreCase(headers.getOrDefault("upgrade", ""));
      byte[] body;
      try {
        body = upgrade ? new byte[0] : readBody(in, headers);
      } catch (IllegalArgumentException bad) {
        out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        return;
      }
      client.setSoTimeout(upgrade ? 0 : 60_000);
      ((DeadlineInput) in).lift();
      if (body == null) {
        out.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        return;
      }
      String text = new String(body, StandardCharsets.UTF_8);
      String kept = text.length() > MAX_RECORDED_BODY ? text.substring(0, MAX_RECORDED_BODY) : text;
      if (recordedBytes.addAndGet(kept.length()) > MAX_RECORDED_BYTES) {
        kept = "";
      }
      Exchange ex = new Exchange(first[0], first[1], headers, kept);
      if (exchanges.size() < MAX_RECORDED) {
        exchanges.add(ex);
      }
      String sent = body.length == 0 ? text : rewriter.rewrite(first[0], ex.path(), text);
      byte[] sentBytes = sent.getBytes(StandardCharsets.UTF_8);
      try (Socket back = new Socket(InetAddress.getLoopbackAddress(), backendPort)) {
        back.setSoTimeout(upgrade ? 0 : 60_000);
        StringBuilder h = new StringBuilder(lines[0]).append("\r\n");
        for (String l : raw) {
          String n = l.substring(0, l.indexOf(':')).trim().toLowerCase(Locale.ROOT);
          if (!upgrade && (n.equals("connection") || n.equals("content-length") || n.equals("transfer-encoding")
              || n.equals("keep-alive") || n.equals("upgrade") || n.equals("http2-settings") || n.equals("te")
              || n.startsWith("proxy-"))) {
            continue;
          }
          h.append(l).append("\r\n");
        }
        if (!upgrade) {
          h.append("Connection: close\r\n");
          if (sentBytes.length > 0 || headers.containsKey("content-length")) {
            h.append("Content-Length: ").append(sentBytes.length).append("\r\n");
          }
        }
        h.append("\r\n");
        OutputStream bo = back.getOutputStream();
        bo.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        bo.write(sentBytes);
        bo.flush();
        InputStream bi = back.getInputStream();
        if (upgrade) {
          Thread up = new Thread(() -> pipe(in, bo), "kit-proxy-ws");
          up.setDaemon(true);
          up.start();
          pipeStatus(bi, out, ex);
          return;
        }
        pipeStatus(bi, out, ex);
      }
    } catch (IOException e) {
      // the EMR or the SoFA went away: nothing to answer
    }
  }

  /** Copies the answer to the client, reading its status for the record. */
  private static void pipeStatus(InputStream from, OutputStream to, Exchange ex) throws IOException {
    byte[] buf = new byte[16 * 1024];
    boolean first = true;
    int n;
    while ((n = from.read(buf)) >= 0) {
      if (first && n >= 12) {
        String line = new String(buf, 0, Math.min(n, 16), StandardCharsets.ISO_8859_1);
        try {
          ex.status = Integer.parseInt(line.substring(9, 12));
        } catch (RuntimeException e) {
          ex.status = -1;
        }
        first = false;
      }
      to.write(buf, 0, n);
      to.flush();
    }
  }

  private static void pipe(InputStream from, OutputStream to) {
    byte[] buf = new byte[16 * 1024];
    try {
      int n;
      while ((n = from.read(buf)) >= 0) {
        to.write(buf, 0, n);
        to.flush();
      }
    } catch (IOException e) {
      // closed
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (b.size() < MAX_HEAD) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      if (c == '\n' && state != 1 && state != 3) {
        return null; // a bare LF: heads are CRLF-delimited here, nothing ambiguous goes on
      }
      state = (c == '\r' && (state == 0 || state == 2)) ? state + 1 : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      if (state == 4) {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.substring(0, s.length() - 4);
      }
    }
    return null;
  }

  private static byte[] readBody(InputStream in, Map<String, String> headers) throws IOException {
    if ("chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""))) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      while (true) {
        String size = line(in);
        int semi = size.indexOf(';');
        long len;
        try {
          len = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("bad chunk size");
        }
        if (len < 0 || len > MAX_BODY - b.size()) {
          return null;
        }
        if (len == 0) {
          while (!line(in).isEmpty()) {
            // trailers
          }
          return b.toByteArray();
        }
        b.write(in.readNBytes((int) len));
        line(in);
      }
    }
    String cl = headers.get("content-length");
    if (cl == null) {
      return new byte[0];
    }
    long len;
    try {
      len = Long.parseLong(cl.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad Content-Length");
    }
    if (len > MAX_BODY || len < 0) {
      return null;
    }
    byte[] body = in.readNBytes((int) len);
    if (body.length != len) {
      throw new SocketException("short body");
    }
    return body;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        sb.append((char) c);
      }
      if (sb.length() > 1024) {
        throw new IOException("line too long");
      }
    }
    return sb.toString();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    pool.shutdownNow();
  }

  /** Fails a read once the request's deadline has passed (a slow sender cannot hold a thread). */
  private static final class DeadlineInput extends java.io.FilterInputStream {
    private final Socket socket;
    private long deadline;

    DeadlineInput(InputStream in, Socket socket, long deadline) {
      super(in);
      this.socket = socket;
      this.deadline = deadline;
    }

    /** The request is in: from here on (websocket, answer) no deadline. */
    void lift() {
      deadline = Long.MAX_VALUE;
    }

    private void check() throws IOException {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        throw new SocketException("request not complete within its deadline");
      }
      if (deadline != Long.MAX_VALUE) {
        socket.setSoTimeout((int) Math.max(1, Math.min(left, Integer.MAX_VALUE)));
      }
    }

    @Override
    public int read() throws IOException {
      check();
      return super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      check();
      return super.read(b, off, len);
    }
  }
}
