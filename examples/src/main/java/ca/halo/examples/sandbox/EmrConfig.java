package ca.halo.examples.sandbox;

import ca.halo.server.sofa.SofaServer;
import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.util.Objects;

/**
 * Where the web EMR finds the jurisdiction: the SoFA's FHIR base, the App Catalog, the IdP the
 * clinician signs in at, and the EMR's own client registration there.
 *
 * @param emrBase the EMR's own base URL ({@code /emr/callback} and the
 *     rest-hooks {@code /emr/hook/{route}} hang off it; https here marks the session cookie Secure)
 * @param idpIssuer an OpenID provider to sign in at, or null to use the SoFA's own authorization
 *     server (found through its SMART configuration)
 */
public record EmrConfig(URI emrBase, URI sofaFhirBase, URI catalogBase, URI idpIssuer,
    String clientId, String clientSecret, String scopes, FhirContext fhirContext) {

  public EmrConfig {
    Objects.requireNonNull(emrBase);
    Objects.requireNonNull(sofaFhirBase);
    Objects.requireNonNull(catalogBase);
    Objects.requireNonNull(clientId);
    Objects.requireNonNull(scopes);
    Objects.requireNonNull(fhirContext);
  }

  /** The embedded jurisdiction of the sandbox. */
  static EmrConfig embedded(SofaServer s) {
    return new EmrConfig(s.baseUrl(), s.fhirBase(), s.catalogBase(), null, Jurisdiction.EMR_CLIENT_ID,
        Jurisdiction.EMR_SECRET, Jurisdiction.EMR_SCOPES, s.fhirContext());
  }

  URI redirectUri() {
    return URI.create(emrBase + "/emr/callback");
  }

  /** Where the clinician logs in: the IdP's issuer, or the SoFA's base. */
  URI loginIss() {
    return idpIssuer != null ? idpIssuer : sofaFhirBase;
  }
}
