package ca.halo.server.sofa.internal;

import ca.halo.server.authz.OAuthHttpResponse;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.function.Supplier;

/** Serves one fixed answer on GET (the SMART configuration at the FHIR base). */
public final class JsonServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private final transient Supplier<OAuthHttpResponse> answer;

  public JsonServlet(Supplier<OAuthHttpResponse> answer) {
    this.answer = answer;
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    OAuthServlet.write(resp, answer.get());
  }
}
