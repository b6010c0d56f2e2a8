package ca.halo.conformance.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Raw HTTP as the kit needs it: never follows redirects, bounded in time, and records every
 * exchange (redacted) as evidence of the running check. One instance may keep cookies (a browser).
 */
public final class Http {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  /** The whole exchange, headers and body, however slowly a server sends them. */
  private static final Duration DEADLINE = Duration.ofSeconds(20);
  /** No answer the kit reads is larger; a server sending more fails the check. */
  static final int MAX_ANSWER = 2 << 20;
  private final HttpClient client;

  private Http(HttpClient client) {
    this.client = client;
  }

  /** Without cookies. */
  public static Http plain() {
    return new Http(HttpClient.newBuilder().connectTimeout(TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER).build());
  }

  /** With its own cookie jar, as a browser. */
  public static Http withCookies() {
    return new Http(HttpClient.newBuilder().connectTimeout(TIMEOUT).cookieHandler(new CookieManager())
        .followRedirects(HttpClient.Redirect.NEVER).build());
  }

  HttpClient client() {
    return client;
  }

  /** An answer, read whole (the kit only talks to bounded endpoints under test). */
  public static final class Response {
    public final int status;
    public final Map<String, List<String>> headers;
    public final String body;
    public final URI uri;

    Response(int status, Map<String, List<String>> headers, String body, URI uri) {
      this.status = status;
      this.headers = headers;
      this.body = body;
      this.uri = uri;
    }

    public Optional<String> header(String name) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return Optional.of(e.getValue().get(0));
        }
      }
      return Optional.empty();
    }

    /** The body as JSON, or a failed check saying it is not JSON. */
    public JsonNode json() {
      try {
        JsonNode n = JSON.readTree(body);
        if (n == null) {
          throw new CheckFailure("expected a JSON body from " + uri + ", got an empty one (HTTP " + status + ")");
        }
        return n;
      } catch (IOException e) {
        String shown = Redact.body("text/plain", body);
        throw new CheckFailure("expected a JSON body from " + Redact.query(uri.toString()) + " (HTTP " + status + "), got: "
            + (shown.length() > 200 ? shown.substring(0, 200) + "..." : shown));
      }
    }

    /** Whether the body parses as JSON. */
    public boolean isJson() {
      try {
        return JSON.readTree(body) != null;
      } catch (IOException e) {
        return false;
      }
    }
  }

  public Response get(URI uri, String... headers) {
    return send("GET", uri, null, null, headers);
  }

  public Response postForm(URI uri, Map<String, String> form, String... headers) {
    return send("POST", uri, "application/x-www-form-urlencoded", form(form), headers);
  }

  public Response postFhir(URI uri, String json, String bearer) {
    return bearer == null ? send("POST", uri, "application/fhir+json", json, "Accept", "application/fhir+json")
        : send("POST", uri, "application/fhir+json", json, "Accept", "application/fhir+json",
            "Authorization", "Bearer " + bearer);
  }

  public Response getFhir(URI uri, String bearer) {
    return bearer == null ? get(uri, "Accept", "application/fhir+json")
        : get(uri, "Accept", "application/fhir+json", "Authorization", "Bearer " + bearer);
  }

  /** Sends one request and records it; a transport failure is a failed check. */
  public Response send(String method, URI uri, String contentType, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(TIMEOUT);
    StringBuilder ev = new StringBuilder();
    ev.append(method).append(' ').append(Redact.query(uri.toString())).append('\n');
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
      ev.append(headers[i]).append(": ").append(Redact.header(headers[i], headers[i + 1])).append('\n');
    }
    if (body != null) {
      b.header("Content-Type", contentType);
      ev.append("Content-Type: ").append(contentType).append('\n');
      b.method(method, HttpRequest.BodyPublishers.ofString(body));
      ev.append('\n').append(Redact.body(contentType, body)).append('\n');
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r;
    java.util.concurrent.CompletableFuture<HttpResponse<String>> f = client.sendAsync(b.build(),
        info -> HttpResponse.BodySubscribers.mapping(new Limited(MAX_ANSWER), bytes -> new String(bytes, StandardCharsets.UTF_8)));
    try {
      r = f.get(DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      f.cancel(true);
      ev.append("--> no whole answer within ").append(DEADLINE.getSeconds()).append(" s");
      Evidence.add(ev.toString());
      throw new CheckFailure(method + " " + Redact.query(uri.toString()) + " gave no whole answer within "
          + DEADLINE.getSeconds() + " s");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      ev.append("--> no answer: ").append(c);
      Evidence.add(ev.toString());
      throw new CheckFailure(method + " " + Redact.query(uri.toString()) + " got no answer: " + Redact.values(c.toString()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      throw new CheckFailure("interrupted");
    }
    ev.append("--> HTTP ").append(r.statusCode()).append('\n');
    Map<String, List<String>> h = new LinkedHashMap<>(r.headers().map());
    for (String name : List.of("content-type", "location", "cache-control", "www-authenticate", "etag")) {
      r.headers().firstValue(name).ifPresent(v -> ev.append(name).append(": ")
          .append(Redact.header(name, v)).append('\n'));
    }
    String ct = r.headers().firstValue("content-type").orElse("");
    if (!r.body().isEmpty()) {
      ev.append('\n').append(Redact.body(ct, r.body()));
    }
    Evidence.add(ev.toString());
    return new Response(r.statusCode(), h, r.body(), uri);
  }

  public static String form(Map<String, String> form) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : form.entrySet()) {
      if (e.getValue() == null) {
        continue;
      }
      sb.append(sb.length() == 0 ? "" : "&").append(enc(e.getKey())).append('=').append(enc(e.getValue()));
    }
    return sb.toString();
  }

  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  public static String basic(String id, String secret) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (enc(id) + ":" + enc(secret)).getBytes(StandardCharsets.UTF_8));
  }

  /** Collects a body up to {@code max} bytes; more fails the exchange. */
  private static final class Limited implements HttpResponse.BodySubscriber<byte[]> {
    private final int max;
    private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    private final java.util.concurrent.CompletableFuture<byte[]> result = new java.util.concurrent.CompletableFuture<>();
    private java.util.concurrent.Flow.Subscription subscription;

    Limited(int max) {
      this.max = max;
    }

    @Override
    public java.util.concurrent.CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
      this.subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<java.nio.ByteBuffer> items) {
      for (java.nio.ByteBuffer b : items) {
        if (out.size() + b.remaining() > max) {
          subscription.cancel();
          result.completeExceptionally(new IOException("the answer is larger than " + (max >> 20) + " MiB"));
          return;
        }
        byte[] chunk = new byte[b.remaining()];
        b.get(chunk);
        out.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(out.toByteArray());
    }
  }
}
