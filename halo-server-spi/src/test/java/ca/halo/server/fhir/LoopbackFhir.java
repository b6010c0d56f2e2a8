package ca.halo.server.fhir;

import ca.uhn.fhir.rest.server.RestfulServer;
import java.net.URI;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** A HAPI RestfulServer on Jetty, on loopback, at {@code /fhir}: the remote FHIR server of tests. */
final class LoopbackFhir {
  private LoopbackFhir() {}

  /** Starts {@code fhir} on a free loopback port; stop the returned server when done. */
  static Server start(RestfulServer fhir) throws Exception {
    Server jetty = new Server();
    ServerConnector c = new ServerConnector(jetty);
    c.setHost("127.0.0.1");
    jetty.addConnector(c);
    ServletContextHandler h = new ServletContextHandler("/");
    h.addServlet(new ServletHolder(fhir), "/fhir/*");
    jetty.setHandler(h);
    jetty.start();
    return jetty;
  }

  /** The FHIR base of a server {@link #start} started. */
  static URI base(Server jetty) {
    return URI.create("http://127.0.0.1:" + ((ServerConnector) jetty.getConnectors()[0]).getLocalPort() + "/fhir");
  }
}
