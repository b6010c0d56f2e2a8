package ca.halo.examples.sandbox;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.FormUserAuthenticator;
import ca.halo.server.authz.InMemoryClientRegistry;
import ca.halo.server.authz.RegisteredClient;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import ca.halo.server.sofa.SofaServer;
import ca.halo.server.subscription.EndpointPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * A whole jurisdiction in one JVM: the App Catalog supplier, and the SoFA (FHIR endpoint,
 * {@code $set-context}/{@code $clear-context}, authorization server acting as the jurisdictional
 * IdP), with the sandbox's test clinician and EMR client.
 */
public final class Jurisdiction implements AutoCloseable {
  public static final String CLINICIAN = "clinician";
  public static final String CLINICIAN_PASSWORD = "halo-sandbox";
  public static final String CLINICIAN_FHIR_USER = "Practitioner/sandbox-clinician";
  /** A second clinician, for trying what one clinician may do with another's sessions. */
  public static final String CLINICIAN2 = "clinician2";
  public static final String CLINICIAN2_PASSWORD = "halo-sandbox-2";
  public static final String CLINICIAN2_FHIR_USER = "Practitioner/sandbox-clinician-2";
  public static final String EMR_CLIENT_ID = "sandbox-emr";
  public static final String EMR_SECRET = "sandbox-emr-secret-change-me";
  public static final String EMR_SCOPES = "openid fhirUser user/Context.write user/*.rs";

  /**
   * The sandbox's rest-hook policy: its own web EMR listens on loopback over plain http, so
   * loopback is allowed here. A deployed SoFA keeps the default (https to public addresses only).
   */
  public static final EndpointPolicy SANDBOX_HOOKS = EndpointPolicy.builder()
      .allowLoopback(true).unsafeAllowPlainHttp(true).build();

  public final SofaServer sofa;
  public final InMemoryAppCatalogRepository catalog;
  /** The jurisdiction's own client registry (the EMR; apps come from the catalog). */
  public final InMemoryClientRegistry clients;
  public final URI emrRedirect;

  /** Starts on {@code host:port} (port 0 picks a free one). */
  public Jurisdiction(String host, int port, Consumer<SofaServer.Builder> customize) {
    catalog = new InMemoryAppCatalogRepository(List.of());
    clients = new InMemoryClientRegistry();
    FormUserAuthenticator users = new FormUserAuthenticator().addUser(CLINICIAN, CLINICIAN_PASSWORD,
        new AuthenticatedUser(CLINICIAN, CLINICIAN_FHIR_USER, "Dr. Sandbox Clinician"))
        .addUser(CLINICIAN2, CLINICIAN2_PASSWORD,
            new AuthenticatedUser(CLINICIAN2, CLINICIAN2_FHIR_USER, "Dr. Second Clinician"));
    SofaServer.Builder b = SofaServer.builder().host(host).port(port)
        .clients(clients).users(users).catalog(catalog)
        .subscriptionEndpointPolicy(SANDBOX_HOOKS);
    customize.accept(b);
    sofa = b.build().start();
    String base = sofa.baseUrl().toString();
    catalog.replaceAll(ca.halo.core.catalog.AppListing.parseList(
        resource("/sandbox/catalog.json").replace("${base}", base)));
    emrRedirect = URI.create(base + "/emr/callback");
    clients.register(RegisteredClient.builder(EMR_CLIENT_ID).name("Sandbox EMR")
        .type(RegisteredClient.Type.CONFIDENTIAL_SYMMETRIC).secret(EMR_SECRET)
        .redirectUri(emrRedirect)
        .allowedScopes(SmartScopes.parse(EMR_SCOPES + " offline_access online_access"))
        .build());
  }

  static String resource(String path) {
    try (InputStream in = Jurisdiction.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    sofa.close();
  }
}
