package ca.halo.server.sofa.internal;

import ca.halo.server.RefusedRequestException;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import org.hl7.fhir.r4.model.OperationOutcome;

/** Turns SoFA refusals into HAPI exceptions whose body is an OperationOutcome. */
public final class Errors {
  private Errors() {}

  public static OperationOutcome outcome(int status, String location, String message) {
    OperationOutcome oo = new OperationOutcome();
    OperationOutcome.OperationOutcomeIssueComponent issue = oo.addIssue()
        .setSeverity(OperationOutcome.IssueSeverity.ERROR)
        .setCode(code(status))
        .setDiagnostics(message);
    if (location != null && !location.isEmpty()) {
      issue.addExpression(location);
    }
    return oo;
  }

  private static OperationOutcome.IssueType code(int status) {
    switch (status) {
      case 401: return OperationOutcome.IssueType.LOGIN;
      case 403: return OperationOutcome.IssueType.FORBIDDEN;
      case 404: return OperationOutcome.IssueType.NOTFOUND;
      case 413: return OperationOutcome.IssueType.TOOLONG;
      case 415: return OperationOutcome.IssueType.NOTSUPPORTED;
      case 429: return OperationOutcome.IssueType.THROTTLED;
      case 422: return OperationOutcome.IssueType.PROCESSING;
      case 503: return OperationOutcome.IssueType.TRANSIENT;
      default: return OperationOutcome.IssueType.INVALID;
    }
  }

  public static BaseServerResponseException of(int status, String location, String message) {
    BaseServerResponseException e = BaseServerResponseException.newInstance(status, message);
    e.setOperationOutcome(outcome(status, location, message));
    if (status == 401) {
      e.addResponseHeader("WWW-Authenticate",
          "Bearer realm=\"halo\", error=\"invalid_token\"");
    } else if (status == 403) {
      e.addResponseHeader("WWW-Authenticate",
          "Bearer realm=\"halo\", error=\"insufficient_scope\"");
    }
    return e;
  }

  /**
   * Writes a refusal straight to the servlet response (for filters in front of HAPI): the status,
   * an OperationOutcome body and {@code Cache-Control: no-store}.
   */
  public static void send(jakarta.servlet.http.HttpServletResponse resp,
      ca.uhn.fhir.context.FhirContext ctx, int status, String message) throws java.io.IOException {
    byte[] body = ctx.newJsonParser().encodeResourceToString(outcome(status, "", message))
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    resp.setStatus(status);
    resp.setHeader("Cache-Control", "no-store");
    resp.setContentType("application/fhir+json;charset=utf-8");
    resp.setContentLength(body.length);
    resp.getOutputStream().write(body);
  }

  public static BaseServerResponseException of(RefusedRequestException e) {
    return of(e.httpStatus(), e.location(), e.getMessage());
  }
}
