package ca.halo.core.fhir;

import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.fhir.OkHttpFhirClientFactory;
import ca.halo.core.internal.http.BearerTokenInterceptor;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import java.net.URI;
import java.util.Objects;

/**
 * Makes HAPI {@link IGenericClient}s that ride on a {@link HaloHttp} and send a bearer token.
 *
 * <pre>{@code
 * IGenericClient fhir = FhirClients.genericClient(ctx, URI.create(iss), http, tokens);
 * Patient p = fhir.read().resource(Patient.class).withId(patientId).execute();
 * }</pre>
 *
 * <p>The client never fetches the server's CapabilityStatement on its own
 * ({@link ServerValidationModeEnum#NEVER}); on a 401 it refreshes the token once and retries once
 * (see {@link AccessTokenProvider}). Thread-safe like HAPI's own generic client. Pass the one
 * {@link FhirContext} of your application: it is expensive to create.
 */
public final class FhirClients {
  private FhirClients() {}

  /** A generic client for {@code base} with bearer tokens from {@code tokens}. */
  public static IGenericClient genericClient(
      FhirContext ctx, URI base, HaloHttp http, AccessTokenProvider tokens) {
    Objects.requireNonNull(tokens, "tokens");
    return create(ctx, base, http, tokens);
  }

  /** A generic client for {@code base} that sends no credentials. */
  public static IGenericClient anonymousClient(FhirContext ctx, URI base, HaloHttp http) {
    return create(ctx, base, http, null);
  }

  private static IGenericClient create(
      FhirContext ctx, URI base, HaloHttp http, AccessTokenProvider tokens) {
    Objects.requireNonNull(ctx, "ctx");
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(http, "http");
    http.checkTransport(base);
    okhttp3.OkHttpClient ok = http.okHttp();
    if (tokens != null) {
      ok = ok.newBuilder().addInterceptor(new BearerTokenInterceptor(tokens)).build();
    }
    OkHttpFhirClientFactory factory = new OkHttpFhirClientFactory(ctx, ok);
    factory.setServerValidationMode(ServerValidationModeEnum.NEVER);
    return factory.newGenericClient(base.toString());
  }
}
