package ca.halo.sofaserver.internal;

import ca.halo.catalog.AppCatalogClient;
import ca.halo.catalog.AppQuery;
import ca.halo.server.catalog.InMemoryAppCatalogRepository;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jurisdiction's App Catalog (its CA:AC API, read with the SDK's {@link AppCatalogClient})
 * held in memory and read again every {@code refresh}: the SoFA's catalog and app clients come
 * from it. A read that fails keeps what was held (logged at WARN). Thread-safe.
 */
public final class CatalogMirror implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CatalogMirror.class);
  private final AppCatalogClient client;
  private final InMemoryAppCatalogRepository repository;
  private final ScheduledExecutorService timer;
  private final URI base;

  /**
   * Reads the catalog once (so a catalog out of reach stops the start-up), then every
   * {@code refresh}.
   *
   * @throws ca.halo.core.HaloException if the catalog cannot be read now
   */
  public CatalogMirror(URI base, Duration refresh) {
    this.base = base;
    this.client = AppCatalogClient.builder().baseUrl(base).build();
    try {
      this.repository = new InMemoryAppCatalogRepository(client.listAll(AppQuery.all()));
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "halo-sofa-catalog");
      t.setDaemon(true);
      return t;
    });
    long ms = refresh.toMillis();
    timer.scheduleWithFixedDelay(this::refresh, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** The catalog as last read. */
  public InMemoryAppCatalogRepository repository() {
    return repository;
  }

  /** Reads the catalog again now; false (and logged) if it could not be read. */
  public boolean refresh() {
    try {
      repository.replaceAll(client.listAll(AppQuery.all()));
      return true;
    } catch (RuntimeException e) {
      LOG.warn("catalog.url: cannot read the App Catalog at {} ({}); keeping the {} apps held",
          base, e.getClass().getSimpleName(), repository.all().size());
      return false;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    client.close();
  }
}
