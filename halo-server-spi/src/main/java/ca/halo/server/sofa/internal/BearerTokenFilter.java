package ca.halo.server.sofa.internal;

import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.security.AccessTokenValidator;
import ca.halo.server.security.Principal;
import ca.uhn.fhir.context.FhirContext;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the bearer token of every FHIR request before anything reads its body: a missing,
 * invalid, expired or revoked token (or one whose launch has ended) is answered 401 with an
 * OperationOutcome and {@code WWW-Authenticate: Bearer}, and the body is never parsed. Open
 * without a token: {@code GET [base]/metadata}, {@code GET [base]/.well-known/smart-configuration}
 * and CORS pre-flights.
 *
 * <p>The principal is left in the request attribute {@link #PRINCIPAL} for the HAPI layer.
 * Refusals are logged at DEBUG without a trace (an unauthenticated caller must not be able to
 * flood the log).
 */
public final class BearerTokenFilter implements Filter {
  public static final String PRINCIPAL = "halo.principal";
  private static final Logger LOG = LoggerFactory.getLogger(BearerTokenFilter.class);
  private static final int MAX_TOKEN_CHARS = 8192;

  private final AccessTokenValidator validator;
  private final LaunchContextStore contexts;
  private final Clock clock;
  private final FhirContext ctx;

  public BearerTokenFilter(AccessTokenValidator validator, LaunchContextStore contexts, Clock clock,
      FhirContext ctx) {
    this.validator = validator;
    this.contexts = contexts;
    this.clock = clock;
    this.ctx = ctx;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest req = (HttpServletRequest) request;
    HttpServletResponse resp = (HttpServletResponse) response;
    if (open(req)) {
      chain.doFilter(request, response);
      return;
    }
    String h = req.getHeader("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7) || h.length() > MAX_TOKEN_CHARS) {
      refuse(req, resp, 401, "a Bearer access token is required");
      return;
    }
    Optional<Principal> p;
    try {
      p = validator.validate(h.substring(7).trim());
    } catch (RuntimeException e) {
      LOG.warn("an access token could not be checked ({}); answering 503",
          e.getClass().getSimpleName());
      refuse(req, resp, 503, "the access token cannot be checked right now; retry later");
      return;
    }
    if (p.isEmpty()) {
      refuse(req, resp, 401, "the access token is invalid, expired or revoked");
      return;
    }
    if (p.get().sessionId().isPresent()
        && contexts.findBySession(p.get().sessionId().get(), clock.instant()).isEmpty()) {
      refuse(req, resp, 401, "the launch this token belongs to has ended");
      return;
    }
    req.setAttribute(PRINCIPAL, p.get());
    chain.doFilter(request, response);
  }

  /** The few FHIR paths a client reads before it has a token. */
  private static boolean open(HttpServletRequest req) {
    String m = req.getMethod();
    if (m.equals("OPTIONS")) {
      return true;
    }
    if (!(m.equals("GET") || m.equals("HEAD"))) {
      return false;
    }
    String path = req.getRequestURI().substring(req.getContextPath().length());
    return path.equals("/fhir/metadata") || path.equals("/fhir/.well-known/smart-configuration");
  }

  private void refuse(HttpServletRequest req, HttpServletResponse resp, int status, String why)
      throws IOException {
    LOG.debug("refused {} {}: {}", req.getMethod(), req.getRequestURI(), status);
    if (status == 401) {
      resp.setHeader("WWW-Authenticate", req.getHeader("Authorization") == null
          ? "Bearer realm=\"halo\"" : "Bearer realm=\"halo\", error=\"invalid_token\"");
    }
    if (req.getContentLengthLong() != 0 && !"GET".equals(req.getMethod())) {
      resp.setHeader("Connection", "close"); // the unread body is not worth reading
    }
    Errors.send(resp, ctx, status, why);
  }
}
