package ca.halo.conformance.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The poc target's proxy and relay under a hostile peer (the attacker's review of the kit). */
class PocHardeningTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void relay_isNoOpenRelay_andTakesItsSecretOff() throws Exception {
    List<String> got = new CopyOnWriteArrayList<>();
    HttpServer target = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
    target.createContext("/", ex -> {
      got.add(ex.getRequestHeaders().getFirst(HookRelay.SECRET_HEADER) + "|" + ex.getRequestHeaders().getFirst("Authorization"));
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    target.start();
    try (HookRelay relay = new HookRelay("127.0.0.1")) {
      URI to = URI.create("http://127.0.0.1:" + target.getAddress().getPort() + "/hook");
      String[] route = relay.route(to).orElseThrow();
      assertThat(route[0]).doesNotEndWith("/relay/1");
      // without the secret (or with a guessed id), nothing is forwarded
      assertThat(post(route[0], null)).isEqualTo(404);
      assertThat(post(route[0].replaceFirst("/relay/.*", "/relay/1"), route[1])).isEqualTo(404);
      assertThat(got).isEmpty();
      // the SoFA's own post (it carries the secret) goes through, without the secret
      assertThat(post(route[0], route[1])).isEqualTo(200);
      assertThat(got).containsExactly("null|Bearer emr-hook");
      // only http(s) endpoints get a route
      assertThat(relay.route(URI.create("file:///etc/passwd"))).isEmpty();
    } finally {
      target.stop(0);
    }
  }

  private static int post(String url, String secret) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer emr-hook")
        .POST(HttpRequest.BodyPublishers.ofString("{\"resourceType\":\"Bundle\"}"));
    if (secret != null) {
      b.header(HookRelay.SECRET_HEADER, secret);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void proxy_chunkSizeOverflow_isRefused_andTheProxyLivesOn() throws Exception {
    HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
    backend.createContext("/", ex -> {
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    backend.start();
    try (RecordingProxy proxy = new RecordingProxy("127.0.0.1", 0)) {
      proxy.backend(backend.getAddress().getPort());
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        OutputStream o = s.getOutputStream();
        o.write(("POST /fhir/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n7fffffff\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        o.flush();
        String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        assertThat(answer).isEqualTo("HTTP/1.1 413");
      }
      // a bare-LF head is refused too, and an honest request still passes
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        s.getOutputStream().write("GET / HTTP/1.1\nHost: x\n\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 400");
      }
      HttpResponse<Void> ok = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/fhir/y"))
          .build(), HttpResponse.BodyHandlers.discarding());
      assertThat(ok.statusCode()).isEqualTo(204);
    } finally {
      backend.stop(0);
    }
  }

  @Test
  void proxy_slowSender_isCutOffAtTheRequestDeadline() throws Exception {
    try (RecordingProxy proxy = new RecordingProxy("127.0.0.1", 0);
        Socket s = new Socket("127.0.0.1", proxy.port())) {
      OutputStream o = s.getOutputStream();
      long t0 = System.nanoTime();
      o.write("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
      o.flush();
      s.setSoTimeout(30_000);
      InputStream in = s.getInputStream();
      // the proxy gives up on the head (400 or close) within its 10 s deadline, however we trickle
      Thread trickle = new Thread(() -> {
        try {
          for (int i = 0; i < 30; i++) {
            o.write('X');
            o.flush();
            Thread.sleep(1000);
          }
        } catch (Exception e) {
          // closed by the proxy
        }
      });
      trickle.setDaemon(true);
      trickle.start();
      in.readAllBytes();
      assertThat((System.nanoTime() - t0) / 1_000_000_000).isLessThan(20);
    }
  }
}
