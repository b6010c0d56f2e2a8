package ca.halo.conformance;

import ca.halo.conformance.internal.CatalogChecks;
import ca.halo.conformance.internal.SofaChecks;
import ca.halo.conformance.internal.Suite;
import java.net.URI;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * The HALO conformance kit as a library: point it at an endpoint, get a report whose every check
 * cites the rule it tests.
 *
 * <pre>{@code
 * ConformanceReport r = ConformanceKit.checkSofa(target, result -> System.out.println(result));
 * r.writeHtml(Path.of("halo-report.html"));
 * }</pre>
 *
 * <p>The checks create contexts, subscriptions and an Observation per write check on the SoFA,
 * as a test EMR and a test app would, and clear the contexts they set. Point the kit at a test
 * or staging deployment with test sign-ins, never at one holding real patients.
 */
public final class ConformanceKit {
  private ConformanceKit() {}

  /** The {@code sofa} target (and the catalog's checks when the target names a catalog). */
  public static ConformanceReport checkSofa(SofaTarget target, Consumer<CheckResult> progress) {
    Instant start = Instant.now();
    Suite s = new Suite(progress);
    new SofaChecks(target, s).run();
    target.catalogBase().ifPresent(c -> new CatalogChecks(c, target.appId(), s).run());
    return new ConformanceReport("sofa", target.fhirBase().toString(), start, s.results());
  }

  /** The {@code catalog} target: an App Catalog supplier alone; {@code appId} may be null. */
  public static ConformanceReport checkCatalog(URI catalogBase, String appId, Consumer<CheckResult> progress) {
    Instant start = Instant.now();
    Suite s = new Suite(progress);
    new CatalogChecks(catalogBase, appId, s).run();
    return new ConformanceReport("catalog", catalogBase.toString(), start, s.results());
  }
}
