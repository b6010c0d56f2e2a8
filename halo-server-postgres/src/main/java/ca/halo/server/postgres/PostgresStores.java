package ca.halo.server.postgres;

import ca.halo.server.sofa.SofaServer;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import javax.crypto.SecretKey;

/**
 * Every store of a SoFA on one PostgreSQL database, so that the SoFA runs on several nodes
 * behind one address and loses nothing on a restart: launch contexts, the FHIR resources of the
 * sessions, authorization state (sign-ins, SSO, codes, grants, revocations), signing keys,
 * subscriptions with their events and leases, and the audit trail. A {@link PostgresPurger}
 * deletes expired rows on a schedule (one node at a time).
 *
 * <pre>{@code
 * PostgresDatabase db = PostgresDatabase.builder("jdbc:postgresql://db:5432/sofa")
 *     .user("sofa").password(secret).build();
 * PostgresStores stores = PostgresStores.builder(db).signingKeysEncryptedWith(kek).build();
 * SofaServer sofa = stores.applyTo(SofaServer.builder())
 *     .publicBaseUrl(URI.create("https://sofa.example.ca"))
 *     .build().start();
 * ...
 * sofa.close();
 * stores.close();   // stops the purger
 * db.close();
 * }</pre>
 *
 * <p>Each node builds its own (its own pool) over the same database and the same settings. The
 * clock and FHIR context given here must be the SoFA's.
 */
public final class PostgresStores implements AutoCloseable {
  private final PostgresDatabase database;
  private final FhirContext fhirContext;
  private final Clock clock;
  private final PostgresLaunchContextStore contexts;
  private final PostgresFhirRepository repository;
  private final PostgresAuthorizationStateStore authorization;
  private final PostgresSigningKeyStore signingKeys;
  private final PostgresSubscriptionStore subscriptions;
  private final PostgresAuditSink audit;
  private final PostgresPurger purger;

  private PostgresStores(Builder b) {
    this.database = b.database;
    this.fhirContext = b.fhirContext;
    this.clock = b.clock;
    this.contexts = PostgresLaunchContextStore.builder(database).build();
    this.repository = new PostgresFhirRepository(database, fhirContext, clock, b.maxVersions,
        b.maxResources);
    this.authorization = PostgresAuthorizationStateStore.builder(database).clock(clock).build();
    PostgresSigningKeyStore keys = new PostgresSigningKeyStore(database);
    this.signingKeys = b.keyEncryptionKey == null ? keys : keys.encryptedWith(b.keyEncryptionKey);
    this.subscriptions = new PostgresSubscriptionStore(database);
    this.audit = PostgresAuditSink.builder(database).fhirContext(fhirContext).clock(clock).build();
    this.purger = PostgresPurger.builder(database).clock(clock).auditRetention(b.auditRetention)
        .build();
    if (b.purgeEvery != null) {
      purger.start(b.purgeEvery);
    }
  }

  public static Builder builder(PostgresDatabase database) {
    return new Builder(database);
  }

  /**
   * Sets every store on {@code sofa} (and its clock and FHIR context, which the stores share);
   * returns it for the rest of the configuration.
   */
  public SofaServer.Builder applyTo(SofaServer.Builder sofa) {
    return sofa.fhirContext(fhirContext).clock(clock).contexts(contexts).repository(repository)
        .authorizationStore(authorization).signingKeys(signingKeys)
        .subscriptionStore(subscriptions).audit(audit);
  }

  public PostgresDatabase database() { return database; }
  public PostgresLaunchContextStore contexts() { return contexts; }
  public PostgresFhirRepository repository() { return repository; }
  public PostgresAuthorizationStateStore authorization() { return authorization; }
  public PostgresSigningKeyStore signingKeys() { return signingKeys; }
  public PostgresSubscriptionStore subscriptions() { return subscriptions; }
  public PostgresAuditSink audit() { return audit; }
  public PostgresPurger purger() { return purger; }

  /** Stops the purger; the database stays open (its owner closes it). */
  @Override
  public void close() {
    purger.close();
  }

  @Override
  public String toString() {
    return "PostgresStores{" + database + "}";
  }

  /** Builds {@link PostgresStores}. */
  public static final class Builder {
    private final PostgresDatabase database;
    private FhirContext fhirContext;
    private Clock clock = Clock.systemUTC();
    private long maxResources = PostgresFhirRepository.DEFAULT_MAX_RESOURCES;
    private int maxVersions = 20;
    private SecretKey keyEncryptionKey;
    private Duration auditRetention = Duration.ofDays(365);
    private Duration purgeEvery = Duration.ofMinutes(5);

    private Builder(PostgresDatabase database) {
      this.database = Objects.requireNonNull(database, "database");
    }

    /** The SoFA's FHIR context. Default: R4 (cached). */
    public Builder fhirContext(FhirContext v) { this.fhirContext = Objects.requireNonNull(v); return this; }
    /** The SoFA's clock; nodes keep their clocks in step (NTP). Default: the system clock, UTC. */
    public Builder clock(Clock v) { this.clock = Objects.requireNonNull(v); return this; }
    /** Versions kept of each resource (the current one included). Default 20. */
    public Builder maxVersions(int v) { this.maxVersions = v; return this; }

    /** FHIR resources held at once before writes are refused (503). Default 10,000,000. */
    public Builder maxResources(long v) { this.maxResources = v; return this; }
    /**
     * Encrypts the signing keys' private parts at rest under this 256-bit AES key, kept outside
     * the database. Recommended; default: stored as plain JWK.
     */
    public Builder signingKeysEncryptedWith(SecretKey v) { this.keyEncryptionKey = Objects.requireNonNull(v); return this; }
    /** How long audit events are kept. Default 365 days; set the jurisdiction's retention. */
    public Builder auditRetention(Duration v) { this.auditRetention = Objects.requireNonNull(v); return this; }
    /** How often expired rows are deleted; null: never here (an operator runs {@code purger().purgeNow()}). Default 5 min. */
    public Builder purgeEvery(Duration v) { this.purgeEvery = v; return this; }

    public PostgresStores build() {
      if (fhirContext == null) {
        fhirContext = FhirContext.forR4Cached();
      }
      if (maxVersions < 1) {
        throw new IllegalStateException("maxVersions must be positive");
      }
      return new PostgresStores(this);
    }
  }
}
