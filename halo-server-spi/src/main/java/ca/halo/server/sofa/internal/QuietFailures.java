package ca.halo.server.sofa.internal;

import ca.halo.server.internal.Failures;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a failure that is not a deliberate refusal (a store that threw, a defect) with a fixed
 * OperationOutcome: 503 when a store is out of reach, else 500, never the exception's text
 * (which may hold SQL, table names or bound values). Logged at WARN by class name only.
 */
@Interceptor
public final class QuietFailures {
  private static final Logger LOG = LoggerFactory.getLogger(QuietFailures.class);

  @Hook(Pointcut.SERVER_PRE_PROCESS_OUTGOING_EXCEPTION)
  public BaseServerResponseException outgoing(Throwable thrown) {
    Throwable cause = thrown;
    if (thrown instanceof InternalErrorException && thrown.getCause() != null
        && !(thrown.getCause() instanceof BaseServerResponseException)) {
      cause = thrown.getCause();
    } else if (thrown instanceof BaseServerResponseException) {
      return (BaseServerResponseException) thrown;
    }
    boolean down = Failures.unavailable(cause);
    LOG.warn("FHIR request failed ({}); answered {}", cause.getClass().getSimpleName(),
        down ? 503 : 500);
    return down
        ? Errors.of(503, "", "the SoFA cannot answer now; retry later")
        : Errors.of(500, "", "the SoFA failed to answer this request");
  }
}
