package ca.halo.server.sofa.internal;

import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Refuses FHIR request bodies over the configured size with 413 and an OperationOutcome, whether
 * or not the client sent Content-Length (chunked bodies are read up to the limit only), and
 * bodies with more than {@code maxElements} JSON values or XML elements and attributes, or nested
 * deeper than {@value #MAX_DEPTH}, before HAPI builds a single object of them. Numbers HAPI would
 * expand digit by digit (an exponent beyond 1000, more than 100 characters) and XML with a
 * DOCTYPE are refused (400). The checker is chosen by the exact media type; a body of any other
 * type or charset (forms included) is refused with 415, and one the checker cannot read with 400.
 * Runs after {@link BearerTokenFilter}: no body of an unknown caller is read.
 */
public final class BodyLimitFilter implements Filter {
  static final int MAX_DEPTH = 100;
  /** HAPI expands a number such as 1E+50000000 digit by digit: hours of CPU for a tiny body. */
  private static final String UNSAFE_NUMBER = "!a number with more than "
      + FhirJsonBodies.MAX_NUMBER_CHARS + " characters or an exponent beyond "
      + FhirJsonBodies.MAX_EXPONENT + " is not accepted";
  private static final String UNPAIRED_SURROGATE = "!the request body holds a \\u escape of half"
      + " a surrogate pair, which is not Unicode text";
  private static final java.util.regex.Pattern NUMERIC =
      java.util.regex.Pattern.compile("\\s*[+-]?[0-9]*\\.?[0-9]+([eE][+-]?[0-9]+)?\\s*");
  private static final JsonFactory JSON = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
      .build();

  private final long maxBytes;
  private final long maxElements;
  private final FhirContext ctx;

  public BodyLimitFilter(long maxBytes, long maxElements, FhirContext ctx) {
    this.maxBytes = maxBytes;
    this.maxElements = maxElements;
    this.ctx = ctx;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest req = (HttpServletRequest) request;
    String m = req.getMethod();
    if (!(m.equals("POST") || m.equals("PUT") || m.equals("PATCH"))) {
      chain.doFilter(request, response);
      return;
    }
    if (req.getContentLengthLong() > maxBytes) {
      drain(req);
      tooLarge((HttpServletResponse) response);
      return;
    }
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (InputStream in = req.getInputStream()) {
      byte[] chunk = new byte[8192];
      int n;
      while ((n = in.read(chunk)) > 0) {
        buf.write(chunk, 0, n);
        if (buf.size() > maxBytes) {
          drain(req);
          tooLarge((HttpServletResponse) response);
          return;
        }
      }
    }
    byte[] body = buf.toByteArray();
    String refusal;
    if (body.length == 0) {
      refusal = null; // nothing to parse (an operation with no input)
    } else {
      MediaType type = MediaType.of(req.getContentType());
      if (type == MediaType.OTHER) {
        refuse((HttpServletResponse) response, 415, "send FHIR as application/fhir+json or"
            + " application/fhir+xml, in UTF-8");
        return;
      }
      refusal = type == MediaType.XML ? checkXml(body) : checkJson(body);
    }
    if (refusal != null) {
      refuse((HttpServletResponse) response, refusal.startsWith("!") ? 400 : 413,
          refusal.startsWith("!") ? refusal.substring(1) : refusal);
      return;
    }
    chain.doFilter(new HttpServletRequestWrapper(req) {
      @Override
      public ServletInputStream getInputStream() {
        ByteArrayInputStream in = new ByteArrayInputStream(body);
        return new ServletInputStream() {
          @Override public int read() { return in.read(); }
          @Override public int read(byte[] b, int off, int len) { return in.read(b, off, len); }
          @Override public boolean isFinished() { return in.available() == 0; }
          @Override public boolean isReady() { return true; }
          @Override public void setReadListener(ReadListener l) {
            throw new UnsupportedOperationException();
          }
        };
      }

      @Override
      public BufferedReader getReader() {
        return new BufferedReader(new InputStreamReader(new ByteArrayInputStream(body),
            StandardCharsets.UTF_8));
      }

      @Override
      public int getContentLength() {
        return body.length;
      }

      @Override
      public long getContentLengthLong() {
        return body.length;
      }
    }, response);
  }

  /**
   * Reads and discards what the client is still sending (up to four times the limit), so it gets
   * to read the 413 instead of a reset connection. Past that the connection is closed.
   */
  private void drain(HttpServletRequest req) {
    long left = maxBytes * 4;
    try {
      InputStream in = req.getInputStream();
      byte[] chunk = new byte[8192];
      int n;
      while (left > 0 && (n = in.read(chunk)) > 0) {
        left -= n;
      }
    } catch (IOException e) {
      // the client went away; nothing to answer
    }
  }

  /** Null when the JSON body is within bounds (or not JSON at all: HAPI answers that). */
  private String checkJson(byte[] body) {
    long n = 0;
    // Only a \\u escape can put half a surrogate pair into the text the server reads: such text
    // is not Unicode, and a stored copy reached clients as invalid UTF-8. (Raw bytes of an
    // encoded surrogate, CESU-8 style, would read as one to Jackson here, but the server decodes
    // bodies as UTF-8, which turns them into U+FFFD.) The strings are decoded and checked only
    // when the body holds such an escape at all.
    boolean surrogates = hasSurrogateEscape(body);
    try (JsonParser p = JSON.createParser(body)) {
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t != JsonToken.FIELD_NAME && t != JsonToken.END_OBJECT && t != JsonToken.END_ARRAY
            && ++n > maxElements) {
          return tooManyElements();
        }
        if ((t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT)
            && !FhirJsonBodies.isSafeNumber(p.getText())) {
          return UNSAFE_NUMBER;
        }
        if (surrogates && (t == JsonToken.VALUE_STRING || t == JsonToken.FIELD_NAME)
            && ca.halo.core.internal.Json.hasUnpairedSurrogate(p.getText())) {
          return UNPAIRED_SURROGATE;
        }
      }
    } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
      return "the request body is nested deeper than " + MAX_DEPTH + " levels";
    } catch (IOException e) {
      return "!the request body is not valid JSON";
    }
    return null;
  }

  /** Whether {@code body} holds the bytes of an escape {@code \\uD800}-{@code \\uDFFF}. */
  static boolean hasSurrogateEscape(byte[] body) {
    for (int i = 0; i + 3 < body.length; i++) {
      if (body[i] == '\\' && body[i + 1] == 'u' && (body[i + 2] == 'd' || body[i + 2] == 'D')) {
        byte c = body[i + 3];
        if ((c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
          return true;
        }
      }
    }
    return false;
  }

  private String checkXml(byte[] body) {
    XMLInputFactory f = XMLInputFactory.newFactory();
    f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    long n = 0;
    int depth = 0;
    try {
      XMLStreamReader r = f.createXMLStreamReader(new ByteArrayInputStream(body));
      try {
        while (r.hasNext()) {
          int e = r.next();
          if (e == XMLStreamConstants.DTD || e == XMLStreamConstants.ENTITY_REFERENCE) {
            return "!XML with a DOCTYPE or entity references is not accepted";
          }
          if (e == XMLStreamConstants.START_ELEMENT) {
            n += 1 + r.getAttributeCount();
            for (int i = 0; i < r.getAttributeCount(); i++) {
              String v = r.getAttributeValue(i);
              if (NUMERIC.matcher(v).matches() && !FhirJsonBodies.isSafeNumber(v.trim())) {
                return UNSAFE_NUMBER;
              }
            }
            if (++depth > MAX_DEPTH) {
              return "the request body is nested deeper than " + MAX_DEPTH + " levels";
            }
            if (n > maxElements) {
              return tooManyElements();
            }
          } else if (e == XMLStreamConstants.END_ELEMENT) {
            depth--;
          }
        }
      } finally {
        r.close();
      }
    } catch (XMLStreamException e) {
      return "!the request body is not valid XML";
    }
    return null;
  }

  /**
   * The body's media type, read exactly (type and subtype, then a UTF-8 charset if any): the
   * checker must parse what HAPI will parse, so nothing slips through under a look-alike type.
   */
  enum MediaType {
    JSON, XML, OTHER;

    static MediaType of(String contentType) {
      if (contentType == null) {
        return OTHER;
      }
      String[] parts = contentType.split(";");
      String base = parts[0].trim().toLowerCase(java.util.Locale.ROOT);
      for (int i = 1; i < parts.length; i++) {
        String[] kv = parts[i].split("=", 2);
        String k = kv[0].trim().toLowerCase(java.util.Locale.ROOT);
        String v = kv.length > 1 ? kv[1].trim().replace("\"", "").toLowerCase(java.util.Locale.ROOT) : "";
        if (k.equals("charset") && !(v.equals("utf-8") || v.equals("utf8"))) {
          return OTHER;
        }
      }
      switch (base) {
        case "application/fhir+json":
        case "application/json":
        case "application/json+fhir":
          return JSON;
        case "application/fhir+xml":
        case "application/xml":
        case "application/xml+fhir":
        case "text/xml":
          return XML;
        default:
          return OTHER;
      }
    }
  }

  private String tooManyElements() {
    return "the request body has more than " + maxElements + " elements";
  }

  private void tooLarge(HttpServletResponse resp) throws IOException {
    refuse(resp, 413, "the request body is larger than " + maxBytes + " bytes");
  }

  private void refuse(HttpServletResponse resp, int status, String why) throws IOException {
    Errors.send(resp, ctx, status, why);
  }
}
