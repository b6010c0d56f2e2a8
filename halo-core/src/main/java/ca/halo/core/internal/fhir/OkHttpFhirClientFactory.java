package ca.halo.core.internal.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.client.api.Header;
import ca.uhn.fhir.rest.client.api.IHttpClient;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.impl.RestfulClientFactory;
import java.util.List;
import java.util.Map;
import okhttp3.OkHttpClient;

/**
 * HAPI's client factory on our OkHttp client. HAPI's own OkHttp module is not published for the
 * HAPI line this SDK pins, so this small adapter stands in for it.
 */
public final class OkHttpFhirClientFactory extends RestfulClientFactory {
  private volatile OkHttpClient client;

  public OkHttpFhirClientFactory(FhirContext ctx, OkHttpClient client) {
    super(ctx);
    this.client = client;
  }

  @Override
  protected IHttpClient getHttpClient(String serverBase) {
    return new OkHttpFhirHttpClient(
        client, new StringBuilder(serverBase), null, null, null, null);
  }

  @Override
  public IHttpClient getHttpClient(
      StringBuilder url,
      Map<String, List<String>> ifNoneExistParams,
      String ifNoneExistString,
      RequestTypeEnum requestType,
      List<Header> headers) {
    return new OkHttpFhirHttpClient(
        client, url, ifNoneExistParams, ifNoneExistString, requestType, headers);
  }

  @Override
  protected void resetHttpClient() {
    // the OkHttp client is owned by HaloHttp; nothing to reset
  }

  @Override
  public void setHttpClient(Object httpClient) {
    if (!(httpClient instanceof OkHttpClient)) {
      throw new IllegalArgumentException("expected an OkHttpClient");
    }
    this.client = (OkHttpClient) httpClient;
  }

  @Override
  public void setProxy(String host, Integer port) {
    throw new UnsupportedOperationException(
        "configure proxies on the HaloHttp's OkHttp client, not on the FHIR client factory");
  }

  /** Hook used by the client class; keeps IHttpRequest in this package. */
  static IHttpRequest request(OkHttpClient c, okhttp3.Request.Builder b, String verb) {
    return new OkHttpFhirRequest(c, b, verb);
  }
}
