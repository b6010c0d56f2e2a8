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
import com.fasterxml.jackson.core.JsonGenerator;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.StringType;

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
    Parameters answer = (Parameters) details.getResponseResource();
    byte[] body = setContextAnswer(answer);
    if (body == null) {
      // not the usual shape: HAPI's encoding, with the server's own context as HAPI would
      body = FhirJson.encode(rd.getFhirContext().newJsonParser(), answer);
    }
    resp.setStatus(200);
    resp.setContentType(encoding.getResourceContentType()); // as HAPI sets them
    resp.setCharacterEncoding(Constants.CHARSET_NAME_UTF8);
    resp.setContentLength(body.length);
    resp.getOutputStream().write(body);
    return false;
  }

  /**
   * The usual {@code $set-context} answer (launchID, then a transaction-response of entries with
   * only status, location, etag and lastModified) written field by field, in HAPI's order and
   * with its text for every value, or null for any other shape. HAPI's general encoder spent most
   * of the answer's time walking a structure that is always this one (SetContextResponseTest
   * holds the two to the same bytes).
   */
  public static byte[] setContextAnswer(Parameters p) {
    if (!plain(p) || p.getParameter().isEmpty() || p.getParameter().size() > 2) {
      return null;
    }
    ParametersParameterComponent launch = p.getParameter().get(0);
    if (!plainParameter(launch, "launchID") || !(launch.getValue() instanceof StringType)
        || !plain(launch.getValue()) || launch.getValue().isEmpty()
        || launch.getResource() != null) {
      return null;
    }
    Bundle bundle = null;
    if (p.getParameter().size() == 2) {
      ParametersParameterComponent rr = p.getParameter().get(1);
      if (!plainParameter(rr, "resourcesResponse") || rr.getValue() != null
          || !(rr.getResource() instanceof Bundle)) {
        return null;
      }
      bundle = (Bundle) rr.getResource();
      if (!plain(bundle) || bundle.getType() != Bundle.BundleType.TRANSACTIONRESPONSE
          || !plain(bundle.getTypeElement()) || bundle.hasIdentifier() || bundle.hasTimestamp()
          || bundle.hasTotal() || bundle.hasLink() || bundle.hasSignature()) {
        return null;
      }
      for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
        Bundle.BundleEntryResponseComponent r = e.getResponse();
        if (!plain(e) || e.hasLink() || e.hasFullUrl() || e.hasResource() || e.hasSearch()
            || e.hasRequest() || !e.hasResponse() || !plain(r) || r.hasOutcome()
            || !r.hasStatus() || !plainPrimitive(r.getStatusElement())
            || r.hasLocation() && !plainPrimitive(r.getLocationElement())
            || r.hasEtag() && !plainPrimitive(r.getEtagElement())
            || r.hasLastModified() && !plainPrimitive(r.getLastModifiedElement())) {
          return null;
        }
      }
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1024);
    try (JsonGenerator g = FhirJson.generator(out)) {
      g.writeStartObject();
      g.writeStringField("resourceType", "Parameters");
      g.writeArrayFieldStart("parameter");
      g.writeStartObject();
      g.writeStringField("name", "launchID");
      g.writeStringField("valueString", launch.getValue().primitiveValue());
      g.writeEndObject();
      if (bundle != null) {
        g.writeStartObject();
        g.writeStringField("name", "resourcesResponse");
        g.writeObjectFieldStart("resource");
        g.writeStringField("resourceType", "Bundle");
        g.writeStringField("type", bundle.getTypeElement().getValueAsString());
        if (!bundle.getEntry().isEmpty()) {
          g.writeArrayFieldStart("entry");
          for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
            Bundle.BundleEntryResponseComponent r = e.getResponse();
            g.writeStartObject();
            g.writeObjectFieldStart("response");
            g.writeStringField("status", r.getStatusElement().getValueAsString());
            if (r.hasLocation()) {
              g.writeStringField("location", r.getLocationElement().getValueAsString());
            }
            if (r.hasEtag()) {
              g.writeStringField("etag", r.getEtagElement().getValueAsString());
            }
            if (r.hasLastModified()) {
              g.writeStringField("lastModified", r.getLastModifiedElement().getValueAsString());
            }
            g.writeEndObject();
            g.writeEndObject();
          }
          g.writeEndArray();
        }
        g.writeEndObject();
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      return null;
    }
    return out.toByteArray();
  }

  /** No id, extension, meta, language, text or comments: nothing but what is written above. */
  private static boolean plain(org.hl7.fhir.r4.model.Base b) {
    if (b.hasFormatComment()) {
      return false;
    }
    if (b instanceof org.hl7.fhir.r4.model.Resource) {
      org.hl7.fhir.r4.model.Resource r = (org.hl7.fhir.r4.model.Resource) b;
      return !r.hasId() && !r.hasMeta() && !r.hasImplicitRules() && !r.hasLanguage();
    }
    if (b instanceof org.hl7.fhir.r4.model.BackboneElement) {
      return !((org.hl7.fhir.r4.model.BackboneElement) b).hasModifierExtension()
          && !((org.hl7.fhir.r4.model.Element) b).hasId()
          && !((org.hl7.fhir.r4.model.Element) b).hasExtension();
    }
    if (b instanceof org.hl7.fhir.r4.model.Element) {
      return !((org.hl7.fhir.r4.model.Element) b).hasId()
          && !((org.hl7.fhir.r4.model.Element) b).hasExtension();
    }
    return false;
  }

  private static boolean plainPrimitive(org.hl7.fhir.r4.model.PrimitiveType<?> t) {
    return plain(t) && t.getValueAsString() != null;
  }

  private static boolean plainParameter(ParametersParameterComponent c, String name) {
    return plain(c) && name.equals(c.getName()) && plain(c.getNameElement()) && !c.hasPart();
  }
}
