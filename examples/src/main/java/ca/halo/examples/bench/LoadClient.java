package ca.halo.examples.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * The load client in its own JVM, so that the client's allocation and GC pauses are not the
 * server's: POSTs one body to one URL from N callers (keep-alive, one connection each), for a count
 * or a duration, and prints {@code RESULT <requests> <seconds> <failures> <histogram>} where the
 * histogram is {@link Stats#encode()}. The Authorization header comes from the {@code
 * BENCH_AUTHORIZATION} environment variable, never the command line. Each occurrence of
 * {@value #FRESH} in the body is replaced, request by request, with 16 new random hex digits (a
 * session tag no server has seen before).
 *
 * <pre>
 *   LoadClient url contentType bodyFile callers warmupRequests (count N | seconds S) expectedStatus
 * </pre>
 */
public final class LoadClient {
  private LoadClient() {}

  /** A placeholder in the body for 16 random hex digits, new in every request. */
  static final String FRESH = "FRESH-0000000000";

  public static void main(String[] args) throws Exception {
    String url = args[0];
    MediaType type = MediaType.get(args[1]);
    byte[] body = Files.readAllBytes(Path.of(args[2]));
    int callers = Integer.parseInt(args[3]);
    int warmup = Integer.parseInt(args[4]);
    boolean timed = args[5].equals("seconds");
    long amount = Long.parseLong(args[6]);
    int expected = Integer.parseInt(args[7]);
    String auth = System.getenv("BENCH_AUTHORIZATION");

    OkHttpClient http = new OkHttpClient.Builder()
        .connectionPool(new ConnectionPool(callers, 5, TimeUnit.MINUTES))
        .connectTimeout(10, TimeUnit.SECONDS).readTimeout(60, TimeUnit.SECONDS)
        .retryOnConnectionFailure(false).build();
    Request.Builder rb = new Request.Builder().url(url).post(RequestBody.create(body, type));
    if (auth != null && !auth.isEmpty()) {
      rb.header("Authorization", auth);
    }
    Request fixed = rb.build();
    int[] fresh = occurrences(body, FRESH.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    java.util.function.Supplier<Request> request = fresh.length == 0 ? () -> fixed : () -> {
      byte[] b = body.clone();
      java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
      for (int at : fresh) {
        for (int i = 0; i < FRESH.length(); i++) {
          b[at + i] = (byte) "0123456789abcdef".charAt(rnd.nextInt(16));
        }
      }
      return fixed.newBuilder().post(RequestBody.create(b, type)).build();
    };
    AtomicLong failures = new AtomicLong();

    run(http, request, callers, false, warmup, expected, failures, new Stats());
    failures.set(0);
    Stats stats = new Stats();
    long t0 = System.nanoTime();
    long done = run(http, request, callers, timed, amount, expected, failures, stats);
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.println("RESULT " + done + " " + secs + " " + failures.get() + " " + stats.encode());
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  private static int[] occurrences(byte[] body, byte[] marker) {
    List<Integer> at = new ArrayList<>();
    outer:
    for (int i = 0; i + marker.length <= body.length; i++) {
      for (int k = 0; k < marker.length; k++) {
        if (body[i + k] != marker[k]) {
          continue outer;
        }
      }
      at.add(i);
      i += marker.length - 1;
    }
    return at.stream().mapToInt(Integer::intValue).toArray();
  }

  private static long run(OkHttpClient http, java.util.function.Supplier<Request> request, int callers, boolean timed,
      long amount, int expected, AtomicLong failures, Stats stats) throws InterruptedException {
    AtomicLong next = new AtomicLong();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timed ? amount : 0);
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < callers; c++) {
      Thread t = new Thread(() -> {
        while (timed ? System.nanoTime() < deadline : next.getAndIncrement() < amount) {
          long s = System.nanoTime();
          try (Response r = http.newCall(request.get()).execute()) {
            r.body().bytes();
            if (r.code() != expected) {
              failures.incrementAndGet();
            }
          } catch (Exception e) {
            failures.incrementAndGet();
          }
          stats.add(System.nanoTime() - s);
          if (timed) {
            next.incrementAndGet();
          }
        }
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return timed ? next.get() : Math.min(next.get(), amount);
  }
}
