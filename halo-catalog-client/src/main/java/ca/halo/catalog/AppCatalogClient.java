package ca.halo.catalog;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.catalog.AppListing;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.Json;
import ca.halo.core.internal.http.BearerTokenInterceptor;
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
 * {@code cacheSize} distinct requests). Thread-safe; build once and share. {@link #close()}
 * closes the {@link HaloHttp} only if the client made it.
 */
public final class AppCatalogClient implements AutoCloseable {
  private final HttpUrl base;
  private final HaloHttp http;
  private final boolean ownsHttp;
  private final OkHttpClient ok;
  private final Map<String, Cached> cache;
  private final AtomicLong notModified = new AtomicLong();

  private record Cached(String etag, String body) {}

  private AppCatalogClient(Builder b) {
    this.base = HttpUrl.get(b.baseUrl.toString());
    this.ownsHttp = b.http == null;
    this.http = b.http != null ? b.http : HaloHttp.defaults();
    http.checkTransport(b.baseUrl);
    this.ok = b.tokens == null ? http.okHttp()
        : http.okHttp().newBuilder().addInterceptor(new BearerTokenInterceptor(b.tokens)).build();
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
        () -> new HaloResponseException("the catalog has no /apps endpoint at " + base, 404,
            null, null, null)), "app catalog page");
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
    try (Response r = ok.newCall(rb.build()).execute()) {
      if (r.code() == 304 && c != null) {
        notModified.incrementAndGet();
        return Optional.of(c.body());
      }
      String body = r.body().string();
      if (r.code() == 404) {
        return Optional.empty();
      }
      if (r.code() != 200) {
        String error = null;
        String description = null;
        try {
          ObjectNode o = Json.parseObject(body, "catalog error");
          error = Json.optionalString(o, "error", "catalog error");
          description = Json.optionalString(o, "error_description", "catalog error");
        } catch (RuntimeException e) {
          // not a JSON error body
        }
        throw new HaloResponseException("the App Catalog answered HTTP " + r.code()
            + (description != null ? ": " + description : ""), r.code(), error, description, null);
      }
      String etag = r.header("ETag");
      if (etag != null) {
        synchronized (cache) {
          cache.put(key, new Cached(etag, body));
        }
      }
      return Optional.of(body);
    } catch (IOException e) {
      throw new HaloTransportException("cannot reach the App Catalog at " + base.host() + ": "
          + e.getMessage(), e);
    }
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

    private Builder() {}

    /** The catalog base; the client calls {@code [baseUrl]/apps}. */
    public Builder baseUrl(URI v) { this.baseUrl = Objects.requireNonNull(v); return this; }
    public Builder http(HaloHttp v) { this.http = Objects.requireNonNull(v); return this; }
    /** Tokens, when the jurisdiction's catalog requires them. */
    public Builder tokens(AccessTokenProvider v) { this.tokens = Objects.requireNonNull(v); return this; }
    public Builder cacheSize(int v) { this.cacheSize = v; return this; }

    public AppCatalogClient build() {
      if (baseUrl == null || !baseUrl.isAbsolute()) {
        throw new IllegalStateException("an absolute baseUrl is required");
      }
      if (cacheSize < 1) {
        throw new IllegalStateException("cacheSize must be at least 1");
      }
      return new AppCatalogClient(this);
    }
  }
}
