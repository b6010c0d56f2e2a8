package ca.halo.core.internal.fhir;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloTransportException;
import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * A FHIR operation POSTed straight over OkHttp, for the calls on a client's start-up path (the
 * first {@code $set-context} of an EMR): HAPI's generic client needs its context's model scan
 * before it sends anything. The body is written by {@link ModelJson}; the caller reads the usual
 * answer itself and hands anything else to {@link #parse} or {@link #refusal}, which use HAPI's
 * parser (an error or an unusual answer may pay for the scan; the usual path does not). Not public
 * API.
 */
public final class FhirPost {
  private static final MediaType FHIR_JSON = MediaType.get("application/fhir+json; charset=utf-8");

  private FhirPost() {}

  /** What the server answered: its status and body (bounded by the HaloHttp's response cap). */
  public record Answer(int status, String reason, byte[] body) {
    public boolean successful() {
      return status >= 200 && status < 300;
    }
  }

  /**
   * POSTs {@code json} to {@code base/operation} through {@code ok} (which carries the SDK's
   * timeouts, transport rule, response cap and bearer token).
   *
   * @throws HaloTransportException if the server cannot be reached or its answer cannot be read
   */
  public static Answer post(OkHttpClient ok, URI base, String operation, byte[] json) {
    String b = base.toString();
    String url = (b.endsWith("/") ? b : b + "/") + operation;
    Request request = new Request.Builder().url(url)
        .header("Accept", "application/fhir+json")
        .post(RequestBody.create(json, FHIR_JSON)).build();
    try (Response r = ok.newCall(request).execute()) {
      return new Answer(r.code(), r.message(), r.body().bytes());
    } catch (IOException e) {
      throw new HaloTransportException(operation + ": cannot reach the SoFA at " + base + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * A successful answer of a shape the caller does not read itself, read with HAPI's parser.
   *
   * @throws HaloParseException if it is not FHIR JSON or not a {@code type}
   */
  public static <T extends IBaseResource> T parse(
      FhirContext ctx, String what, Answer a, Class<T> type) {
    IBaseResource r = FhirJsonBodies.parse(ctx, new String(a.body(), StandardCharsets.UTF_8),
        what + ": the SoFA's answer");
    if (!type.isInstance(r)) {
      throw new HaloParseException(what + ": the SoFA answered a " + r.fhirType() + ", not a "
          + type.getSimpleName());
    }
    return type.cast(r);
  }

  /**
   * The refusal in an unsuccessful answer: its OperationOutcome's first issue gives diagnostics
   * and location; a body that is not one (a proxy's HTML page, say) gives only the status. The
   * body itself is never quoted: it may hold patient data.
   */
  public static FhirCalls.Refusal refusal(FhirContext ctx, String what, Answer a) {
    OperationOutcome oo = null;
    if (a.body().length > 0) {
      try {
        IBaseResource r = FhirJsonBodies.parse(ctx, new String(a.body(), StandardCharsets.UTF_8),
            what);
        oo = r instanceof OperationOutcome ? (OperationOutcome) r : null;
      } catch (HaloParseException e) {
        oo = null; // not FHIR: the status says it all
      }
    }
    String diag = "HTTP " + a.status() + (a.reason().isEmpty() ? "" : " " + a.reason());
    String location = "";
    if (oo != null && oo.hasIssue()) {
      OperationOutcome.OperationOutcomeIssueComponent first = oo.getIssueFirstRep();
      if (first.hasDiagnostics()) {
        diag = first.getDiagnostics();
      }
      if (first.hasExpression() && first.getExpression().get(0).getValue() != null) {
        location = first.getExpression().get(0).getValue();
      }
    }
    return new FhirCalls.Refusal(what, a.status(), oo, diag, location);
  }
}
