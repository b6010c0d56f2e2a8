package ca.halo.catalog;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.Json;
import ca.halo.core.internal.http.BearerTokenInterceptor;
import ca.halo.core.internal.http.Bodies;
import ca.halo.core.internal.http.ResponseSizeLimitInterceptor.ResponseTooLargeException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The PoC's App Catalog Consumer (HALO CA:AC-1): lists and reads the jurisdiction's approved
 * SMART apps.
 *
 * <pre>{@code
 * AppCatalogClient catalog = AppCatalogClient.builder()
 *     .baseUrl(URI.create("https://catalog.example.ca")).build();
 * for (AppListing app : catalog.list(AppQuery.builder().launchType("ehr").build()).apps()) { ... }
 * AppListing growth = catalog.get("growth-chart").orElseThrow();
 * }</pre>
 *
 * <p>Every answer is cached with its {@code ETag} and revalidated with {@code If-None-Match}, so
 * a PoC that polls the catalog costs the supplier one 304 per poll (the cache keeps the last
 * {@code cacheSize} distinct requests). Answers larger than {@code maxResponseBytes} (8 MiB by
 * default) are refused without being read whole. Thread-safe; build once and share. {@link #close()}
 * closes the {@link HaloHttp} only if the client made it.
 */
public final class AppCatalogClient implements AutoCloseable {
  /** The default {@link Builder#maxResponseBytes(long)}: 8 MiB, far above any real catalog page. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 8L * 1024 * 1024;
  /** An error answer is read only this far, for its OAuth error code. */
  private static final long MAX_ERROR_BODY = 64 * 1024;
  private final HttpUrl base;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final OkHttpClient ok;
  private final Map<String, Cached> cache;
  private final long maxResponseBytes;
  private final AtomicLong notModified = new AtomicLong();

  private record Cached(String etag, String body) {}

  private AppCatalogClient(Builder b) {
    this.base = HttpUrl.get(b.baseUrl.toString());
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    http.checkTransport(b.baseUrl);
    this.ok = b.tokens == null ? http.okHttp()
        : http.okHttp().newBuilder().addInterceptor(new BearerTokenInterceptor(b.tokens)).build();
    this.maxResponseBytes = b.maxResponseBytes;
    int size = b.cacheSize;
    this.cache = new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Cached> e) {
        return size() > size;
      }
    };
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * One page of apps matching {@code query}.
   *
   * @throws HaloResponseException if the supplier refuses the query (unknown filter, bad paging)
   * @throws HaloParseException if the answer or a listing in it is malformed
   */
  public AppListingPage list(AppQuery query) {
    HttpUrl.Builder u = base.newBuilder().addPathSegment("apps");
    query.params().forEach(u::addQueryParameter);
    ObjectNode o = Json.parseObject(fetch(u.build()).orElseThrow(
        () -> HaloResponseException.http("the catalog has no /apps endpoint at " + base, 404)),
        "app catalog page");
    JsonNode apps = o.get("apps");
    if (apps == null || !apps.isArray()) {
      throw new HaloParseException("app catalog page: required array 'apps' is missing");
    }
    List<AppListing> out = new ArrayList<>();
    int i = 0;
    for (JsonNode a : apps) {
      try {
        out.add(AppListing.parse(Json.write(a)));
      } catch (HaloParseException e) {
        throw new HaloParseException("app catalog page: apps[" + i + "]: " + e.getMessage(), e);
      }
      i++;
    }
    return new AppListingPage(out, o.path("total").asInt(out.size()), o.path("page").asInt(1),
        o.hasNonNull("next"));
  }

  /** Every active app matching {@code query}, following pages. */
  public List<AppListing> listAll(AppQuery query) {
    List<AppListing> all = new ArrayList<>();
    AppQuery.Builder b = AppQuery.builder();
    query.params().forEach((k, v) -> {
      switch (k) {
        case "q": b.text(v); break;
        case "category": b.category(v); break;
        case "launchType": b.launchType(v); break;
        case "fhirScope": b.fhirScope(v); break;
        case "status": b.status(v); break;
        case "_count": b.pageSize(Integer.parseInt(v)); break;
        default: break;
      }
    });
    for (int page = 1; page <= 10_000; page++) {
      AppListingPage p = list(b.page(page).build());
      all.addAll(p.apps());
      if (!p.hasNext()) {
        break;
      }
    }
    return all;
  }

  /** One app by its catalog id; empty when the catalog does not know it. */
  public Optional<AppListing> get(String id) {
    Objects.requireNonNull(id, "id");
    return fetch(base.newBuilder().addPathSegment("apps").addPathSegment(id).build())
        .map(AppListing::parse);
  }

  /** How many answers were 304 Not Modified (served from the cache). */
  public long notModifiedCount() {
    return notModified.get();
  }

  /** The body at {@code url}, revalidated against the cache; empty on 404. */
  private Optional<String> fetch(HttpUrl url) {
    String key = url.toString();
    Cached c;
    synchronized (cache) {
      c = cache.get(key);
    }
    Request.Builder rb = new Request.Builder().url(url).header("Accept", "application/json");
    if (c != null) {
      rb.header("If-None-Match", c.etag());
    }
    Call call = ok.newCall(rb.build());
    try (Response r = call.execute()) {
      if (r.code() == 304 && c != null) {
        notModified.incrementAndGet();
        return Optional.of(c.body());
      }
      if (r.code() == 404) {
        return Optional.empty();
      }
      if (r.code() != 200) {
        String error = null;
        String description = null;
        try {
          ObjectNode o = Json.parseObject(Bodies.string(call, r, MAX_ERROR_BODY), "catalog error");
          error = Json.optionalString(o, "error", "catalog error");
          description = Json.optionalString(o, "error_description", "catalog error");
        } catch (RuntimeException | IOException e) {
          // not a JSON error body, or too large to be one
        }
        throw HaloResponseException.oauth("the App Catalog refused the request", r.code(), error,
            description);
      }
      String body = Bodies.string(call, r, maxResponseBytes);
      String etag = r.header("ETag");
      if (etag != null && sendable(etag)) {
        synchronized (cache) {
          cache.put(key, new Cached(etag, body));
        }
      }
      return Optional.of(body);
    } catch (ResponseTooLargeException e) {
      throw new HaloTransportException("the App Catalog at " + base.host() + " answered more than "
          + Math.min(maxResponseBytes, http.maxResponseBytes()) + " bytes"
          + " (AppCatalogClient.Builder#maxResponseBytes)", e);
    } catch (IOException e) {
      throw new HaloTransportException("cannot reach the App Catalog at " + base.host() + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * Whether an ETag can go back in If-None-Match: OkHttp accepts any answer header but refuses to
   * send a request header outside tab and visible ASCII, so caching one such ETag made every later
   * request for that URL throw IllegalArgumentException.
   */
  static boolean sendable(String etag) {
    for (int i = 0; i < etag.length(); i++) {
      char ch = etag.charAt(i);
      if (ch != '\t' && (ch < 0x20 || ch > 0x7e)) {
        return false;
      }
    }
    return !etag.isBlank();
  }

  @Override
  public void close() {
    if (ownsHttp) {
      http.close();
    }
  }

  @Override
  public String toString() {
    return "AppCatalogClient{" + base + "}";
  }

  /** Builds an {@link AppCatalogClient}. */
  public static final class Builder {
    private URI baseUrl;
    private HaloHttp http;
    private AccessTokenProvider tokens;
    private int cacheSize = 256;
    private long maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES;

    private Builder() {}

    /** The catalog base; the client calls {@code [baseUrl]/apps}. */
    public Builder baseUrl(URI v) { this.baseUrl = Objects.requireNonNull(v); return this; }
    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    /** Tokens, when the jurisdiction's catalog requires them. */
    public Builder tokens(AccessTokenProvider v) { this.tokens = Objects.requireNonNull(v); return this; }
    public Builder cacheSize(int v) { this.cacheSize = v; return this; }

    /**
     * The largest catalog answer read (default 8 MiB); a larger one fails with
     * {@link HaloTransportException} instead of being held in memory (and in the ETag cache).
     */
    public Builder maxResponseBytes(long v) { this.maxResponseBytes = v; return this; }

    public AppCatalogClient build() {
      if (baseUrl == null || !baseUrl.isAbsolute()) {
        throw new IllegalStateException("an absolute baseUrl is required");
      }
      if (cacheSize < 1) {
        throw new IllegalStateException("cacheSize must be at least 1");
      }
      if (maxResponseBytes < 1) {
        throw new IllegalStateException("maxResponseBytes must be positive");
      }
      return new AppCatalogClient(this);
    }
  }
}
