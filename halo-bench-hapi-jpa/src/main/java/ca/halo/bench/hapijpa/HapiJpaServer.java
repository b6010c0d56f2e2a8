package ca.halo.bench.hapijpa;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.JpaSystemProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * Benchmark only: a HAPI FHIR JPA server (R4; H2 in memory, or where -Dhapijpa.jdbcUrl says: the
 * harness gives it H2 files) on 127.0.0.1, for the benchmark
 * harness to measure beside ours in the same run.
 *
 * <p>{@code java -Xmx2g -cp target/classes:$(cat target/classpath.txt)
 * ca.halo.bench.hapijpa.HapiJpaServer [port]} (port 0, the default, takes any free one). When
 * the server answers {@code GET /fhir/metadata} it prints one line, {@code HAPI JPA base:
 * http://127.0.0.1:<port>/fhir}, and runs until killed. With {@code
 * -Dhapijpa.exitOnStdinEof=true} it also exits when its standard input reaches end of file, so
 * a parent that dies takes it down.
 */
public final class HapiJpaServer {

  private HapiJpaServer() {}

  public static void main(String[] args) throws Exception {
    quietLogging();
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    if (Boolean.getBoolean("hapijpa.exitOnStdinEof")) {
      watchStdin();
    }

    AnnotationConfigApplicationContext spring =
        new AnnotationConfigApplicationContext(HapiJpaBenchConfig.class);
    spring.registerShutdownHook();

    RestfulServer restful = newRestfulServer(spring);
    Server jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    ServletHolder holder = new ServletHolder("hapi-fhir-jpa", restful);
    holder.setInitOrder(1);
    context.addServlet(holder, "/fhir/*");
    jetty.setHandler(context);
    jetty.setStopAtShutdown(true);
    jetty.start();

    String base = "http://127.0.0.1:" + connector.getLocalPort() + "/fhir";
    warmUp(base);
    System.out.println("HAPI JPA base: " + base);
    System.out.flush();
    jetty.join();
  }

  /** WARN and above only, unless the command line says otherwise. */
  private static void quietLogging() {
    setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
    // Hibernate (JBoss Logging) would otherwise log through java.util.logging at INFO
    setIfAbsent("org.jboss.logging.provider", "slf4j");
    // a start-up WARN about HAPI's own BeanPostProcessorConfig, harmless here
    setIfAbsent(
        "org.slf4j.simpleLogger.log.org.springframework.context.support."
            + "PostProcessorRegistrationDelegate$BeanPostProcessorChecker",
        "error");
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static RestfulServer newRestfulServer(AnnotationConfigApplicationContext spring) {
    FhirContext fhirContext = spring.getBean(FhirContext.class);
    // as the jpaserver-starter with narrative_enabled: false (its default)
    fhirContext.setNarrativeGenerator(new NullNarrativeGenerator());

    IFhirSystemDao systemDao = spring.getBean(IFhirSystemDao.class);
    RestfulServer server = new RestfulServer(fhirContext);
    server.registerProviders(spring.getBean(ResourceProviderFactory.class).createProviders());
    server.registerProvider(spring.getBean(JpaSystemProvider.class));
    server.setPagingProvider(spring.getBean(DatabaseBackedPagingProvider.class));
    JpaCapabilityStatementProvider capabilities =
        new JpaCapabilityStatementProvider(
            server,
            systemDao,
            spring.getBean(JpaStorageSettings.class),
            spring.getBean(ISearchParamRegistry.class),
            spring.getBean(IValidationSupport.class));
    capabilities.setImplementationDescription("HAPI FHIR JPA (benchmark)");
    server.setServerConformanceProvider(capabilities);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    server.setDefaultPrettyPrint(false);
    return server;
  }

  /** Until GET /metadata answers 200 (the first one builds the CapabilityStatement). */
  private static void warmUp(String base) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(base + "/metadata"))
            .header("Accept", "application/fhir+json")
            .timeout(Duration.ofSeconds(60))
            .GET()
            .build();
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (true) {
      HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
      if (response.statusCode() == 200) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("GET /metadata answers " + response.statusCode());
      }
      Thread.sleep(100);
    }
  }

  private static void watchStdin() {
    Thread watcher =
        new Thread(
            () -> {
              try (InputStream in = System.in) {
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) {
                  // discard
                }
              } catch (IOException e) {
                // a broken stdin counts as closed
              }
              System.exit(0);
            },
            "hapijpa-stdin-watch");
    watcher.setDaemon(true);
    watcher.start();
  }
}
