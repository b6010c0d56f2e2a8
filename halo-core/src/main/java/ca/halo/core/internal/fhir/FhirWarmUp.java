package ca.halo.core.internal.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * Starts HAPI's model scan of a {@link FhirContext} on a background thread, so that it runs while
 * the caller does other start-up work (building its clients, its resources) instead of inside
 * the first FHIR call. The scan loads and initialises every resource class of the FHIR version
 * (about 750 classes, 0.5-0.8 s here); HAPI does it once per context, at the first use that needs
 * a resource definition, under the context's lock, so a call made meanwhile waits for it rather
 * than scanning twice. The thread also encodes and parses an empty Parameters once, to load the
 * JSON parser. Once per context; a failure here is left for the first real use to report.
 *
 * <p>HAPI asks that a context be configured (custom types registered) before any thread uses
 * it; with the SDK, that is before its first client is made from it.
 */
public final class FhirWarmUp {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FhirWarmUp.class);
  private static final Set<FhirContext> STARTED =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  private FhirWarmUp() {}

  /** Starts the warm-up of {@code ctx} unless it was started before; returns at once. */
  public static void start(FhirContext ctx) {
    if (!STARTED.add(ctx)) {
      return;
    }
    // no thread-locals of the caller's thread, and the SDK's own class loader, not the caller's
    Thread t = new Thread(null, () -> warm(ctx), "halo-fhir-warm-up", 0, false);
    t.setContextClassLoader(FhirWarmUp.class.getClassLoader());
    t.setDaemon(true);
    t.start();
  }

  /** Whether {@link #start} was called for {@code ctx}. */
  static boolean started(FhirContext ctx) {
    return STARTED.contains(ctx);
  }

  static void warm(FhirContext ctx) {
    try {
      IBaseResource empty = ctx.getResourceDefinition("Parameters").newInstance();
      IParser json = ctx.newJsonParser();
      json.parseResource(json.encodeResourceToString(empty));
    } catch (RuntimeException | LinkageError e) {
      // left for the first real use, which reports it to its caller (a class that failed to
      // initialise here then reads "Could not initialize class": this says why)
      LOG.debug("FHIR context warm-up failed", e);
    }
  }
}
