package ca.halo.core.internal.http;

import ca.halo.core.HaloTransportException;
import ca.halo.core.http.HaloHttp;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** Sends Nimbus OAuth messages over the SDK's OkHttp client. */
public final class NimbusHttp {
  /** The largest OAuth answer we read (1 MiB): a token or metadata answer is far smaller. */
  public static final long MAX_BODY = 1 << 20;

  private NimbusHttp() {}

  public static HTTPResponse send(HaloHttp http, HTTPRequest nimbus, String what) {
    URI uri;
    okhttp3.HttpUrl url;
    try {
      uri = nimbus.getURL().toURI();
      url = okhttp3.HttpUrl.get(nimbus.getURL().toString());
    } catch (Exception e) {
      throw new HaloTransportException(what + ": invalid endpoint URL", e);
    }
    http.checkTransport(uri);
    Request.Builder rb = new Request.Builder().url(url);
    for (Map.Entry<String, List<String>> h : nimbus.getHeaderMap().entrySet()) {
      for (String v : h.getValue()) {
        rb.addHeader(h.getKey(), v);
      }
    }
    String body = nimbus.getBody();
    String method = nimbus.getMethod().name();
    if (body != null && !method.equals("GET")) {
      String ct = nimbus.getEntityContentType() == null
          ? "application/x-www-form-urlencoded; charset=UTF-8"
          : nimbus.getEntityContentType().toString();
      rb.method(method, RequestBody.create(body, MediaType.parse(ct)));
    } else if (method.equals("POST")) {
      rb.method(method, RequestBody.create(new byte[0], null));
    } else {
      rb.method(method, null);
    }
    rb.header("Accept", "application/json");
    return execute(http, rb.build(), what);
  }

  public static HTTPResponse get(HaloHttp http, URI uri, String what) {
    http.checkTransport(uri);
    okhttp3.HttpUrl url = okhttp3.HttpUrl.parse(uri.toString());
    if (url == null) {
      throw new HaloTransportException(what + ": invalid URL for host " + uri.getHost());
    }
    Request r = new Request.Builder().url(url).header("Accept", "application/json")
        .get().build();
    return execute(http, r, what);
  }

  private static HTTPResponse execute(HaloHttp http, Request request, String what) {
    Call call = http.okHttp().newCall(request);
    try (Response response = call.execute()) {
      HTTPResponse out = new HTTPResponse(response.code());
      out.setStatusMessage(response.message());
      for (String name : response.headers().names()) {
        out.setHeader(name, response.headers(name).toArray(new String[0]));
      }
      out.setBody(Bodies.string(call, response, MAX_BODY));
      return out;
    } catch (ResponseSizeLimitInterceptor.ResponseTooLargeException e) {
      throw new HaloTransportException(what + ": answer larger than "
          + Math.min(MAX_BODY, http.maxResponseBytes()) + " bytes", e);
    } catch (InterruptedIOException e) {
      throw new HaloTransportException(what + ": timed out calling " + request.url().host(), e);
    } catch (IOException e) {
      throw new HaloTransportException(
          what + ": request to " + request.url().host() + " failed: " + e.getMessage(), e);
    }
  }
}
