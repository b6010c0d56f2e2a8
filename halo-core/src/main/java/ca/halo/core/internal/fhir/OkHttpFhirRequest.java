package ca.halo.core.internal.fhir;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.client.api.BaseHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import ca.uhn.fhir.util.StopWatch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.Buffer;

/** A HAPI request carried by OkHttp. Content-Type travels as a header, as HAPI sets it. */
final class OkHttpFhirRequest extends BaseHttpRequest {
  private OkHttpClient client;
  private final Request.Builder builder;
  private final String verb;
  private final Map<String, List<String>> headers = new HashMap<>();
  private String uri;

  OkHttpFhirRequest(OkHttpClient client, Request.Builder builder, String verb) {
    this.client = client;
    this.builder = builder;
    this.verb = verb;
    this.uri = builder.build().url().toString();
  }

  /** Routes this request through {@code c} (the HaloHttp client of the generic client). */
  void bind(OkHttpClient c) {
    this.client = c;
  }

  @Override
  public void addHeader(String name, String value) {
    headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    if (name.equalsIgnoreCase("Accept-Encoding")) {
      return; // OkHttp negotiates gzip itself and then also decompresses
    }
    builder.addHeader(name, value);
  }

  @Override
  public IHttpResponse execute() throws IOException {
    StopWatch sw = new StopWatch();
    Request request = builder.url(uri).build();
    RequestBody body = request.body();
    String contentType = request.header("Content-Type");
    if (body != null && contentType != null && body.contentType() == null) {
      Buffer buf = new Buffer();
      body.writeTo(buf);
      request = request.newBuilder()
          .method(verb, RequestBody.create(buf.readByteArray(), MediaType.parse(contentType)))
          .build();
    }
    try (Response response = client.newCall(request).execute()) {
      // bounded by HaloHttp's ResponseSizeLimitInterceptor
      byte[] bytes = response.body().bytes();
      // every answer, whatever its Content-Type says: a caller of the generic client may read
      // any text as JSON (a raw transaction answer is read by what it starts with); a body that
      // is not JSON stops the screen at its first character. Read in the charset HAPI reads it
      // in (the declared one): read as UTF-8, a UTF-16 body stops the screen at its first NUL
      // while HAPI reads on. And as UTF-8 too, for whatever reads the bytes as they are.
      String ct = response.header("Content-Type");
      java.nio.charset.Charset cs = OkHttpFhirResponse.charset(ct == null ? null : MediaType.parse(ct));
      java.util.Optional<String> problem = FhirJsonBodies.unsafe(bytes, cs);
      if (problem.isEmpty() && !cs.equals(StandardCharsets.UTF_8)) {
        problem = FhirJsonBodies.unsafe(bytes, StandardCharsets.UTF_8);
      }
      if (problem.isPresent()) {
        // HAPI turns this into FhirClientConnectionException("Failed to parse response") with
        // this as its cause, as for any body it cannot parse
        throw new DataFormatException("unsafe FHIR JSON answer: " + problem.get());
      }
      return new OkHttpFhirResponse(response, bytes, sw);
    }
  }

  @Override
  public Map<String, List<String>> getAllHeaders() {
    return headers;
  }

  @Override
  public String getRequestBodyFromStream() throws IOException {
    RequestBody body = builder.build().body();
    if (body == null) {
      return null;
    }
    Buffer buf = new Buffer();
    body.writeTo(buf);
    return buf.readString(StandardCharsets.UTF_8);
  }

  @Override
  public String getUri() {
    return uri;
  }

  @Override
  public void setUri(String uri) {
    this.uri = uri;
  }

  @Override
  public String getHttpVerbName() {
    return verb;
  }

  @Override
  public void removeHeaders(String name) {
    headers.remove(name);
    builder.removeHeader(name);
  }

  @Override
  public String toString() {
    return verb + " " + uri;
  }
}
