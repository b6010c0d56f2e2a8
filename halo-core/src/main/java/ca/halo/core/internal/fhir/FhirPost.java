package ca.halo.core.internal.fhir;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloTransportException;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.LenientErrorHandler;
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
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Resource;

/**
 * A FHIR operation POSTed straight over OkHttp, for the calls on a client's start-up path (the
 * first {@code $set-context} of an EMR): HAPI's generic client needs its context's model scan
 * before it sends anything. The body is written by {@link ModelJson}; the caller reads the usual
 * answer itself and hands anything else to {@link #parameters} or {@link #refusal}, which use HAPI's
 * parser (an error or an unusual answer may pay for the scan; the usual path does not). Not public
 * API.
 */
public final class FhirPost {
  private static final MediaType FHIR_JSON = MediaType.get("application/fhir+json; charset=utf-8");

  private FhirPost() {}

  /** What the server answered: its status and body (bounded by the HaloHttp's response cap). */
  public record Answer(int status, String reason, String contentType, byte[] body) {
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
      return new Answer(r.code(), r.message(), r.header("Content-Type", ""), r.body().bytes());
    } catch (IOException e) {
      throw new HaloTransportException(operation + ": cannot reach the SoFA at " + base + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * A successful answer of a shape the caller does not read itself, read with HAPI's parser (XML
   * where the server says so, JSON otherwise) as HAPI's generic client reads an operation's
   * answer: no body is an empty Parameters, and another resource is wrapped in one (as
   * {@code return}).
   *
   * @throws HaloParseException if it is not FHIR
   */
  public static Parameters parameters(FhirContext ctx, String what, Answer a) {
    if (a.body().length == 0) {
      return new Parameters();
    }
    IBaseResource r = read(ctx, what + ": the SoFA's answer", a);
    if (r instanceof Parameters) {
      return (Parameters) r;
    }
    if (!(r instanceof Resource)) {
      throw new HaloParseException(what + ": the SoFA's answer is not an R4 resource");
    }
    Parameters wrapped = new Parameters();
    wrapped.addParameter().setName("return").setResource((Resource) r);
    return wrapped;
  }

  private static IBaseResource read(FhirContext ctx, String what, Answer a) {
    String text = new String(a.body(), StandardCharsets.UTF_8);
    if (!a.contentType().toLowerCase(java.util.Locale.ROOT).contains("xml")) {
      return FhirJsonBodies.parse(ctx, text, what);
    }
    try {
      return ctx.newXmlParser().setParserErrorHandler(new LenientErrorHandler(false))
          .parseResource(text);
    } catch (RuntimeException e) {
      // HAPI's message can quote the body, which may hold patient data: not passed on
      throw new HaloParseException(what + ": not a FHIR resource in XML ("
          + e.getClass().getSimpleName() + ")");
    }
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
        IBaseResource r = read(ctx, what, a);
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
