package ca.halo.core.fhir;

import ca.halo.core.auth.AccessTokenProvider;
import ca.halo.core.http.HaloHttp;
import ca.halo.core.internal.fhir.FhirWarmUp;
import ca.halo.core.internal.fhir.OkHttpBindingInterceptor;
import ca.halo.core.internal.fhir.OkHttpFhirClientFactory;
import ca.halo.core.internal.http.BearerTokenInterceptor;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.IRestfulClientFactory;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import java.net.URI;
import java.util.Objects;
import okhttp3.OkHttpClient;

/**
 * Makes HAPI {@link IGenericClient}s that ride on a {@link HaloHttp} and send a bearer token.
 *
 * <pre>{@code
 * IGenericClient fhir = FhirClients.genericClient(ctx, URI.create(iss), http, tokens);
 * Patient p = fhir.read().resource(Patient.class).withId(patientId).execute();
 * }</pre>
 *
 * <p>The client never fetches the server's CapabilityStatement on its own; on a 401 it refreshes
 * the token once and retries once (see {@link AccessTokenProvider}). Thread-safe like HAPI's own
 * generic client.
 *
 * <p>HAPI chooses its HTTP transport per {@link FhirContext}: the first call installs the SDK's
 * OkHttp client factory on {@code ctx} (with server validation {@code NEVER}). Generic clients
 * made here then each use their own {@link HaloHttp} and token provider. Pass the one
 * {@code FhirContext} of your application: it is expensive to create. The first client made from a
 * context starts HAPI's model scan of it on a background thread (the first call's largest cost,
 * here done while the application goes on starting), so register custom types on the context
 * before making its first client, as HAPI asks of any context shared by threads. HAPI's own default
 * transport, Apache HttpClient 4, is not among the SDK's dependencies: an application that calls
 * {@code ctx.newRestfulGenericClient} on a context this class has not set up adds
 * {@code org.apache.httpcomponents:httpclient} itself.
 */
public final class FhirClients {
  /** Guards the check-then-install of the client factory (not ctx's monitor: HAPI scans under it). */
  private static final Object FACTORY_LOCK = new Object();

  private FhirClients() {}

  /**
   * Starts HAPI's model scan of {@code ctx} on a background thread now, as the first generic
   * client made from it would; returns at once, and does nothing the second time. For an
   * application that will use HAPI later (a {@code SubscriptionClient}, {@code SofaClient.fhir()},
   * its own parsing): call it at start-up, and the scan (about a second on a small machine) runs
   * while the clinician signs in instead of inside a later call. {@code SofaClient}'s usual
   * {@code $set-context} does not need the scan, and does not start it.
   */
  public static void warmUp(FhirContext ctx) {
    FhirWarmUp.start(Objects.requireNonNull(ctx, "ctx"));
  }

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
    // HAPI's model scan (the first call's largest cost) runs meanwhile on a thread of its own
    FhirWarmUp.start(ctx);
    synchronized (FACTORY_LOCK) {
      if (!(currentFactory(ctx) instanceof OkHttpFhirClientFactory)) {
        OkHttpFhirClientFactory ours = new OkHttpFhirClientFactory(ctx, http.okHttp());
        ours.setServerValidationMode(ServerValidationModeEnum.NEVER);
        ctx.setRestfulClientFactory(ours);
      }
    }
    OkHttpClient ok = http.okHttp();
    if (tokens != null) {
      ok = ok.newBuilder().addInterceptor(new BearerTokenInterceptor(tokens)).build();
    }
    IGenericClient client = ctx.newRestfulGenericClient(base.toString());
    if (client instanceof ca.uhn.fhir.rest.client.impl.BaseClient) {
      ((ca.uhn.fhir.rest.client.impl.BaseClient) client).setDontValidateConformance(true);
    }
    client.registerInterceptor(new OkHttpBindingInterceptor(ok));
    return client;
  }

  /**
   * The factory installed on {@code ctx}, or {@code null} where none is and HAPI cannot make its
   * default one: that one runs on Apache HttpClient 4, which the SDK leaves off its class path.
   */
  private static IRestfulClientFactory currentFactory(FhirContext ctx) {
    try {
      return ctx.getRestfulClientFactory();
    } catch (NoClassDefFoundError e) {
      return null;
    }
  }
}
