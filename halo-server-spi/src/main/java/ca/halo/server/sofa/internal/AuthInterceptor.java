package ca.halo.server.sofa.internal;

import ca.halo.core.HaloException;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.security.Principal;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.time.Clock;
import java.util.Optional;

/** Validates the bearer token of every FHIR request but {@code metadata}. */
@Interceptor
public final class AuthInterceptor {
  public static final String PRINCIPAL = "halo.principal";
  private final AccessTokenValidator validator;
  private final LaunchContextStore contexts;
  private final Clock clock;

  public AuthInterceptor(AccessTokenValidator validator, LaunchContextStore contexts, Clock clock) {
    this.validator = validator;
    this.contexts = contexts;
    this.clock = clock;
  }

  @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
  public void authenticate(RequestDetails rd, RestOperationTypeEnum op) {
    if (op == RestOperationTypeEnum.METADATA) {
      return;
    }
    String h = rd.getHeader("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw Errors.of(401, "", "a Bearer access token is required");
    }
    Optional<Principal> p;
    try {
      p = validator.validate(h.substring(7).trim());
    } catch (HaloException e) {
      throw Errors.of(503, "", "the access token cannot be checked right now; retry later");
    }
    if (p.isEmpty()) {
      throw Errors.of(401, "", "the access token is invalid, expired or revoked");
    }
    if (p.get().sessionId().isPresent()
        && contexts.findBySession(p.get().sessionId().get(), clock.instant()).isEmpty()) {
      throw Errors.of(401, "", "the launch this token belongs to has ended");
    }
    rd.getUserData().put(PRINCIPAL, p.get());
  }

  public static Principal principal(RequestDetails rd) {
    Object p = rd.getUserData().get(PRINCIPAL);
    if (!(p instanceof Principal)) {
      throw Errors.of(401, "", "a Bearer access token is required");
    }
    return (Principal) p;
  }
}
