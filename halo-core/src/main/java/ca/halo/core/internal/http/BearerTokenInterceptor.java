package ca.halo.core.internal.http;

import ca.halo.core.auth.AccessToken;
import ca.halo.core.auth.AccessTokenProvider;
import java.io.IOException;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Sends {@code Authorization: Bearer} from a provider and, on a 401, asks the provider for a new
 * token once and retries once. Requests whose body cannot be replayed are not retried.
 */
public final class BearerTokenInterceptor implements Interceptor {
  private final AccessTokenProvider tokens;

  public BearerTokenInterceptor(AccessTokenProvider tokens) {
    this.tokens = tokens;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    AccessToken token = tokens.token();
    Request original = chain.request();
    Response response = chain.proceed(withToken(original, token));
    if (response.code() != 401 || (original.body() != null && original.body().isOneShot())) {
      return response;
    }
    AccessToken fresh = tokens.refreshAfterRejection(token);
    if (fresh == null || fresh.equals(token)) {
      return response;
    }
    response.close();
    return chain.proceed(withToken(original, fresh));
  }

  private static Request withToken(Request r, AccessToken t) {
    return r.newBuilder().header("Authorization", "Bearer " + t.value()).build();
  }
}
