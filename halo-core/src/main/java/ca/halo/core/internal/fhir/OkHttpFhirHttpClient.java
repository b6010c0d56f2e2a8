package ca.halo.core.internal.fhir;

import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.client.api.Header;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.apache.BaseHttpClient;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import okhttp3.FormBody;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;

/** One HAPI client invocation carried by OkHttp. */
final class OkHttpFhirHttpClient extends BaseHttpClient {
  private final OkHttpClient client;

  OkHttpFhirHttpClient(
      OkHttpClient client,
      StringBuilder url,
      Map<String, List<String>> ifNoneExistParams,
      String ifNoneExistString,
      RequestTypeEnum requestType,
      List<Header> headers) {
    super(url, ifNoneExistParams, ifNoneExistString, requestType, headers);
    this.client = client;
  }

  @Override
  protected IHttpRequest createHttpRequest() {
    return build(null);
  }

  @Override
  protected IHttpRequest createHttpRequest(byte[] content) {
    return build(RequestBody.create(content, null));
  }

  @Override
  protected IHttpRequest createHttpRequest(Map<String, List<String>> params) {
    FormBody.Builder form = new FormBody.Builder(StandardCharsets.UTF_8);
    params.forEach((k, vs) -> vs.forEach(v -> form.add(k, v)));
    return build(form.build());
  }

  @Override
  protected IHttpRequest createHttpRequest(String contents) {
    return build(RequestBody.create(contents.getBytes(StandardCharsets.UTF_8), null));
  }

  private IHttpRequest build(RequestBody body) {
    RequestTypeEnum type = myRequestType == null ? RequestTypeEnum.GET : myRequestType;
    String verb = type.name();
    RequestBody b = body;
    if (b == null && (type == RequestTypeEnum.POST || type == RequestTypeEnum.PUT
        || type == RequestTypeEnum.PATCH)) {
      b = RequestBody.create(new byte[0], null);
    }
    Request.Builder rb = new Request.Builder().url(myUrl.toString()).method(verb, b);
    return OkHttpFhirClientFactory.request(client, rb, verb);
  }
}
