package ca.halo.server.sofa.internal;

import ca.halo.server.sofa.ContextManager;
import ca.halo.server.sofa.ContextOperationException;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.StrictErrorHandler;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Parameters;

/** {@code $set-context} and {@code $clear-context} on the HAPI server. */
public final class OperationsProvider {
  private final FhirContext ctx;
  private final ContextManager manager;

  public OperationsProvider(FhirContext ctx, ContextManager manager) {
    this.ctx = ctx;
    this.manager = manager;
  }

  @Operation(name = "$set-context", idempotent = false, manualRequest = true)
  public Parameters setContext(RequestDetails rd) {
    try {
      byte[] raw = rd.loadRequestContents();
      return manager.setContext(body(rd), AuthInterceptor.principal(rd),
          raw == null ? 0 : raw.length);
    } catch (ContextOperationException e) {
      throw Errors.of(e);
    }
  }

  @Operation(name = "$clear-context", idempotent = false, manualRequest = true)
  public Parameters clearContext(RequestDetails rd) {
    try {
      return manager.clearContext(body(rd), AuthInterceptor.principal(rd));
    } catch (ContextOperationException e) {
      throw Errors.of(e);
    }
  }

  private Parameters body(RequestDetails rd) {
    byte[] bytes = rd.loadRequestContents();
    if (bytes == null || bytes.length == 0) {
      throw Errors.of(400, "", "the request body must be a Parameters resource");
    }
    return parseParameters(ctx, rd, bytes);
  }

  /** Parses a Parameters body strictly (JSON, or XML by Content-Type); 400 otherwise. */
  static Parameters parseParameters(FhirContext ctx, RequestDetails rd, byte[] bytes) {
    String ct = rd.getHeader("Content-Type");
    boolean xml = ct != null && ct.contains("xml");
    IParser parser = xml ? ctx.newXmlParser() : ctx.newJsonParser();
    parser.setParserErrorHandler(new StrictErrorHandler());
    IBaseResource r;
    try {
      r = parser.parseResource(new String(bytes, StandardCharsets.UTF_8));
    } catch (DataFormatException e) {
      throw Errors.of(400, "", "the body is not a valid FHIR " + (xml ? "XML" : "JSON")
          + " resource: " + e.getMessage());
    } catch (RuntimeException e) {
      throw Errors.of(400, "", "the body is not a valid FHIR " + (xml ? "XML" : "JSON")
          + " resource");
    }
    if (!(r instanceof Parameters)) {
      throw Errors.of(400, "", "the body must be a Parameters resource, not " + r.fhirType());
    }
    return (Parameters) r;
  }
}
