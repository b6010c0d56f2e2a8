package ca.halo.server.postgres;

import ca.halo.server.authz.SigningKey;
import ca.halo.server.authz.SigningKeyStore;
import ca.halo.server.postgres.internal.DatabaseErrors;
import ca.halo.server.postgres.internal.Sql;
import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWEObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.DirectDecrypter;
import com.nimbusds.jose.crypto.DirectEncrypter;
import java.text.ParseException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.SecretKey;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;

/**
 * A {@link SigningKeyStore} in PostgreSQL (table {@code halo_signing_key}): every node of a SoFA
 * signs with the same key and publishes the same key set, and keys survive restarts, so tokens
 * issued before a restart stay valid. A rotation adds a key under a transaction-scoped advisory
 * lock, so nodes rotating at once add one.
 *
 * <p>Private keys are secret. With {@link #encryptedWith(SecretKey)} (a 256-bit AES key the
 * operator keeps outside the database, e.g. in a KMS or a mounted secret) each is stored as a JWE
 * ({@code dir}, {@code A256GCM}) and a database dump alone signs nothing; without it they are
 * stored as plain JWK JSON and the database must be guarded as the key itself.
 *
 * <p>Thread-safe.
 */
public final class PostgresSigningKeyStore implements SigningKeyStore {
  private static final long ROTATE_LOCK = 0x48414c4f4b455953L; // "HALOKEYS"

  private final Jdbi jdbi;
  private final SecretKey keyEncryptionKey;

  private PostgresSigningKeyStore(Jdbi jdbi, SecretKey keyEncryptionKey) {
    this.jdbi = jdbi;
    this.keyEncryptionKey = keyEncryptionKey;
  }

  /** Keys stored as plain JWK JSON: guard the database as the keys themselves. */
  public PostgresSigningKeyStore(PostgresDatabase database) {
    this(Objects.requireNonNull(database, "database").jdbi(), null);
  }

  /**
   * This store, with private keys encrypted under {@code keyEncryptionKey} (AES, 256 bits). Keys
   * stored before without encryption are still read.
   */
  public PostgresSigningKeyStore encryptedWith(SecretKey keyEncryptionKey) {
    Objects.requireNonNull(keyEncryptionKey, "keyEncryptionKey");
    if (!"AES".equalsIgnoreCase(keyEncryptionKey.getAlgorithm())
        || keyEncryptionKey.getEncoded() == null || keyEncryptionKey.getEncoded().length != 32) {
      throw new IllegalArgumentException("the key-encryption key must be a 256-bit AES key");
    }
    return new PostgresSigningKeyStore(jdbi, keyEncryptionKey);
  }

  private <T> T tx(HandleCallback<T, RuntimeException> work) {
    try {
      return jdbi.inTransaction(work);
    } catch (JdbiException e) {
      if (DatabaseErrors.unavailable(e)) {
        throw new IllegalStateException("the signing key store cannot be reached", e);
      }
      throw e;
    }
  }

  @Override
  public List<SigningKey> keys() {
    return tx(h -> h.createQuery("SELECT private_jwk, active_from FROM halo_signing_key"
            + " ORDER BY active_from DESC, seq DESC")
        .map((rs, ctx) -> SigningKey.parse(open(rs.getString("private_jwk")),
            rs.getObject("active_from", OffsetDateTime.class).toInstant()))
        .list());
  }

  @Override
  public boolean addIfNewest(SigningKey next, Optional<String> expectedNewest) {
    String sealed = seal(next.privateJwk());
    return tx(h -> {
      h.execute("SELECT pg_advisory_xact_lock(?)", ROTATE_LOCK);
      Optional<String> newest = h.createQuery("SELECT kid FROM halo_signing_key"
              + " ORDER BY active_from DESC, seq DESC LIMIT 1")
          .mapTo(String.class).findOne();
      if (!newest.equals(expectedNewest)) {
        return false;
      }
      return h.createUpdate("INSERT INTO halo_signing_key (kid, private_jwk, active_from)"
              + " VALUES (:kid, :jwk, :from) ON CONFLICT (kid) DO NOTHING")
          .bind("kid", next.kid()).bind("jwk", sealed)
          .bind("from", Sql.at(next.activeFrom()))
          .execute() > 0;
    });
  }

  @Override
  public void remove(String kid) {
    tx(h -> h.createUpdate("DELETE FROM halo_signing_key WHERE kid = :kid").bind("kid", kid).execute());
  }

  private String seal(String jwk) {
    if (keyEncryptionKey == null) {
      return jwk;
    }
    try {
      JWEObject jwe = new JWEObject(new JWEHeader(JWEAlgorithm.DIR, EncryptionMethod.A256GCM),
          new Payload(jwk));
      jwe.encrypt(new DirectEncrypter(keyEncryptionKey));
      return jwe.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot encrypt a signing key", e);
    }
  }

  private String open(String stored) {
    if (stored.startsWith("{")) {
      return stored;
    }
    if (keyEncryptionKey == null) {
      throw new IllegalStateException("the signing keys are encrypted; configure the key-encryption key");
    }
    try {
      JWEObject jwe = JWEObject.parse(stored);
      jwe.decrypt(new DirectDecrypter(keyEncryptionKey));
      return jwe.getPayload().toString();
    } catch (ParseException | JOSEException e) {
      throw new IllegalStateException("a stored signing key cannot be decrypted with the configured key", e);
    }
  }

  @Override
  public String toString() {
    return "PostgresSigningKeyStore{" + (keyEncryptionKey != null ? "encrypted" : "plain") + "}";
  }
}
