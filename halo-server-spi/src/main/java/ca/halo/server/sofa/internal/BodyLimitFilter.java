package ca.halo.server.sofa.internal;

import ca.uhn.fhir.context.FhirContext;
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

/**
 * Refuses FHIR request bodies over the configured size with 413 and an OperationOutcome, whether
 * or not the client sent Content-Length (chunked bodies are read up to the limit only).
 */
public final class BodyLimitFilter implements Filter {
  private final long maxBytes;
  private final FhirContext ctx;

  public BodyLimitFilter(long maxBytes, FhirContext ctx) {
    this.maxBytes = maxBytes;
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

  private void tooLarge(HttpServletResponse resp) throws IOException {
    resp.setStatus(413);
    resp.setContentType("application/fhir+json;charset=utf-8");
    resp.getWriter().write(ctx.newJsonParser().encodeResourceToString(
        Errors.outcome(413, "", "the request body is larger than " + maxBytes + " bytes")));
  }
}
