package ca.halo.core.internal.fhir;

import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import okhttp3.OkHttpClient;

/**
 * Registered on each generic client made by FhirClients: sends that client's requests through
 * its own OkHttp client (its HaloHttp, plus its bearer-token interceptor). HAPI picks the
 * transport per FhirContext; this binds it per generic client.
 */
public final class OkHttpBindingInterceptor implements IClientInterceptor {
  private final OkHttpClient client;

  public OkHttpBindingInterceptor(OkHttpClient client) {
    this.client = client;
  }

  @Override
  public void interceptRequest(IHttpRequest request) {
    if (!(request instanceof OkHttpFhirRequest)) {
      throw new IllegalStateException(
          "the FhirContext's client factory was replaced after FhirClients set it up; create the"
              + " generic client again with FhirClients");
    }
    ((OkHttpFhirRequest) request).bind(client);
  }

  @Override
  public void interceptResponse(IHttpResponse response) {
    // nothing to do
  }
}
