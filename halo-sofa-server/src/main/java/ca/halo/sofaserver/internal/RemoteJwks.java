package ca.halo.sofaserver.internal;

import ca.halo.core.http.HaloHttp;
import com.nimbusds.jose.jwk.JWKSet;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.function.Supplier;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jurisdiction IdP's JWK set, read over the SDK's HTTP stack (https only, except loopback;
 * bounded answers) and kept for {@link #MAX_AGE}. A failed read keeps the set it had (logged at
 * WARN, without the answer) and is retried at most every {@link #RETRY}. Thread-safe; no
 * lock is held while reading.
 */
public final class RemoteJwks implements Supplier<JWKSet> {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteJwks.class);
  static final Duration MAX_AGE = Duration.ofMinutes(5);
  static final Duration RETRY = Duration.ofSeconds(30);
  private static final long MAX_BYTES = 1 << 20;

  private final HaloHttp http;
  private final URI url;
  private volatile JWKSet keys = new JWKSet();
  private volatile long readAt;
  private volatile long triedAt;
  private volatile boolean read;
  private final java.util.concurrent.atomic.AtomicBoolean reading =
      new java.util.concurrent.atomic.AtomicBoolean();

  public RemoteJwks(HaloHttp http, URI url) {
    this.http = http;
    this.url = url;
    http.checkTransport(url);
  }

  /** Reads the set now; false (and logged) if it could not be read. */
  public boolean refresh() {
    triedAt = System.nanoTime();
    try (Response r = http.okHttp().newCall(new Request.Builder().url(url.toString()).get()
        .header("Accept", "application/json").build()).execute()) {
      ResponseBody body = r.body();
      if (!r.isSuccessful() || body == null || body.contentLength() > MAX_BYTES) {
        LOG.warn("the IdP's JWK set at {} answered {}; keeping the keys held", url, r.code());
        return false;
      }
      String text = new String(body.byteStream().readNBytes((int) MAX_BYTES + 1),
          java.nio.charset.StandardCharsets.UTF_8);
      if (text.length() > MAX_BYTES) {
        LOG.warn("the IdP's JWK set at {} is larger than {} bytes; keeping the keys held", url,
            MAX_BYTES);
        return false;
      }
      keys = JWKSet.parse(text).toPublicJWKSet();
      readAt = System.nanoTime();
      read = true;
      return true;
    } catch (IOException | java.text.ParseException | RuntimeException e) {
      LOG.warn("cannot read the IdP's JWK set at {} ({}); keeping the keys held", url,
          e.getClass().getSimpleName());
      return false;
    }
  }

  /**
   * The keys held. When they are stale, one caller reads them again while the others go on with
   * the keys held: a slow IdP never holds every token check up.
   */
  @Override
  public JWKSet get() {
    long now = System.nanoTime();
    boolean stale = !read || now - readAt > MAX_AGE.toNanos();
    if (stale && now - triedAt > RETRY.toNanos() && reading.compareAndSet(false, true)) {
      try {
        refresh();
      } finally {
        reading.set(false);
      }
    }
    return keys;
  }
}
