package ca.halo.server.sofa.internal;

import ca.halo.server.security.Principal;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;

/**
 * Hands the principal that {@link BearerTokenFilter} established (before the body was read) to
 * the HAPI providers. A request that reached HAPI without one (the filter not mounted) is refused.
 */
@Interceptor
public final class AuthInterceptor {
  public static final String PRINCIPAL = BearerTokenFilter.PRINCIPAL;

  @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
  public void authenticate(RequestDetails rd, RestOperationTypeEnum op) {
    if (op == RestOperationTypeEnum.METADATA) {
      return;
    }
    Object p = rd instanceof ServletRequestDetails
        ? ((ServletRequestDetails) rd).getServletRequest().getAttribute(PRINCIPAL) : null;
    if (!(p instanceof Principal)) {
      throw Errors.of(401, "", "a Bearer access token is required");
    }
    rd.getUserData().put(PRINCIPAL, p);
  }

  public static Principal principal(RequestDetails rd) {
    Object p = rd.getUserData().get(PRINCIPAL);
    if (!(p instanceof Principal)) {
      throw Errors.of(401, "", "a Bearer access token is required");
    }
    return (Principal) p;
  }
}
