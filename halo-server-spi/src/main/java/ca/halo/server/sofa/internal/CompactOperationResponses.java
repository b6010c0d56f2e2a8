package ca.halo.server.sofa.internal;

import ca.halo.server.internal.FhirJson;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.api.server.ResponseDetails;
import ca.uhn.fhir.rest.server.RestfulServerUtils;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.hl7.fhir.r4.model.Parameters;

/**
 * Writes the answer to {@code $set-context} (the hot path of a launch) as compact JSON in one
 * piece, without HAPI's general response path: HAPI hands every value to an ObjectMapper, turns
 * characters into bytes through a writer and gzips a body of about 2 KB; together that was 15 %
 * of a {@code $set-context}'s server time (issue 18's profile). The JSON is HAPI's own encoding of
 * the same Parameters ({@link FhirJson}), byte for byte.
 *
 * <p>Only the plain case is taken: a 200 answer, JSON negotiated the way HAPI negotiates it (the
 * {@code Accept} header), none of {@code _format}, {@code _pretty}, {@code _summary},
 * {@code _elements} asked for, and no pretty printing (which an Accept parameter
 * {@code pretty=true} asks for too). Everything else (XML, pretty printing, a summary, every
 * other interaction and every error) goes through HAPI as before, encoded with the same server
 * context. The body is sent uncompressed, with its length.
 */
@Interceptor
public final class CompactOperationResponses {
  private static final Set<String> HAPI_ONLY = Set.of(Constants.PARAM_FORMAT,
      Constants.PARAM_PRETTY, Constants.PARAM_SUMMARY, Constants.PARAM_ELEMENTS);
  public CompactOperationResponses() {}

  /** @return false when the answer was written here (HAPI then writes nothing) */
  @Hook(Pointcut.SERVER_OUTGOING_RESPONSE)
  public boolean outgoing(RequestDetails rd, ResponseDetails details, HttpServletResponse resp)
      throws IOException {
    if (rd.getRestOperationType() != RestOperationTypeEnum.EXTENDED_OPERATION_SERVER
        || !"$set-context".equals(rd.getOperation())
        || details.getResponseCode() != 200
        || !(details.getResponseResource() instanceof Parameters)) {
      return true;
    }
    Map<String, String[]> params = rd.getParameters();
    for (String p : HAPI_ONLY) {
      if (params.containsKey(p)) {
        return true;
      }
    }
    RestfulServerUtils.ResponseEncoding encoding =
        RestfulServerUtils.determineResponseEncodingWithDefault(rd);
    // pretty printing may be asked for in the Accept header too (pretty=true)
    if (encoding == null || encoding.getEncoding() != EncodingEnum.JSON
        || RestfulServerUtils.prettyPrintResponse(rd.getServer(), rd)) {
      return true;
    }
    // the server's own context, as HAPI encodes with it
    byte[] body = FhirJson.encode(rd.getFhirContext().newJsonParser(),
        details.getResponseResource());
    resp.setStatus(200);
    resp.setContentType(encoding.getResourceContentType()); // as HAPI sets them
    resp.setCharacterEncoding(Constants.CHARSET_NAME_UTF8);
    resp.setContentLength(body.length);
    resp.getOutputStream().write(body);
    return false;
  }
}
