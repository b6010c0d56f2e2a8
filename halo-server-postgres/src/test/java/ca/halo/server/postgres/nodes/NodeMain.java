package ca.halo.server.postgres.nodes;

import ca.halo.server.TestSofa;
import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.postgres.PostgresStores;
import java.net.URI;

/**
 * One SoFA node in a JVM of its own, for the tests that kill a node without a graceful shutdown:
 * {@code NodeMain <jdbcUrl> <port> <publicBaseUrl> <name>}. The node's notifications carry
 * {@code User-Agent: <name>}, so a receiver knows which node delivered. Prints {@code READY} when
 * it serves; runs until killed.
 */
public final class NodeMain {
  private NodeMain() {}

  public static void main(String[] args) throws Exception {
    PostgresDatabase db = PostgresDatabase.builder(args[0]).maxPoolSize(6).build();
    PostgresStores stores = PostgresStores.builder(db).fhirContext(TestSofa.CTX).build();
    int port = Integer.parseInt(args[1]);
    URI publicBase = URI.create(args[2]);
    String name = args[3];
    TestSofa sofa = new TestSofa(s -> stores.applyTo(s).port(port).publicBaseUrl(publicBase)
        .subscriptionSettings(x -> x.userAgent(name).node(name)));
    System.out.println("READY " + sofa.server.baseUrl());
    System.out.flush();
    Thread.currentThread().join();
  }
}
