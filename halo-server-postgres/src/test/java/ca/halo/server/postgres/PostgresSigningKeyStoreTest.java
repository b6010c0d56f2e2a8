package ca.halo.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.authz.SigningKey;
import ca.halo.server.authz.SigningKeyStore;
import ca.halo.server.authz.SigningKeyStoreContract;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The signing key store contract on PostgreSQL, and keys encrypted at rest. */
class PostgresSigningKeyStoreTest extends SigningKeyStoreContract {
  private final List<PostgresDatabase> opened = new ArrayList<>();

  @Override
  protected SigningKeyStore newStore() {
    return newStores()[0];
  }

  @Override
  protected SigningKeyStore[] newStores() {
    String url = EmbeddedPostgresSupport.newDatabase();
    PostgresDatabase a = PostgresDatabase.builder(url).maxPoolSize(8).build();
    PostgresDatabase b = PostgresDatabase.builder(url).maxPoolSize(8).migrate(false).build();
    opened.add(a);
    opened.add(b);
    return new SigningKeyStore[] {new PostgresSigningKeyStore(a), new PostgresSigningKeyStore(b)};
  }

  @AfterEach
  void close() {
    opened.forEach(PostgresDatabase::close);
  }

  private static SecretKey aes() throws Exception {
    KeyGenerator g = KeyGenerator.getInstance("AES");
    g.init(256);
    return g.generateKey();
  }

  @Test
  void encryptedWith_keepsNoPrivateKeyMaterialInTheDatabase_andOnlyTheRightKeyOpensIt() throws Exception {
    PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase();
    opened.add(db);
    SecretKey kek = aes();
    SigningKeyStore store = new PostgresSigningKeyStore(db).encryptedWith(kek);
    SigningKey k = SigningKey.of(new RSAKeyGenerator(2048).keyID("k1").generate(), T0);
    assertThat(store.addIfNewest(k, Optional.empty())).isTrue();
    String stored = db.jdbi().withHandle(h -> h.createQuery("SELECT private_jwk FROM halo_signing_key")
        .mapTo(String.class).one());
    String d = k.key().getPrivateExponent().toString();
    assertThat(stored).doesNotContain(d).doesNotContain("\"d\"").hasSize(stored.length())
        .matches("[A-Za-z0-9_\\-.]+");
    assertThat(new PostgresSigningKeyStore(db).encryptedWith(kek).keys()).containsExactly(k);
    assertThatThrownBy(() -> new PostgresSigningKeyStore(db).encryptedWith(aes()).keys())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot be decrypted");
    assertThatThrownBy(() -> new PostgresSigningKeyStore(db).keys())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("encrypted");
  }

  @Test
  void encryptedWith_refusesAKeyThatIsNotAes256() throws Exception {
    PostgresDatabase db = EmbeddedPostgresSupport.newPostgresDatabase();
    opened.add(db);
    KeyGenerator g = KeyGenerator.getInstance("AES");
    g.init(128);
    assertThatThrownBy(() -> new PostgresSigningKeyStore(db).encryptedWith(g.generateKey()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
