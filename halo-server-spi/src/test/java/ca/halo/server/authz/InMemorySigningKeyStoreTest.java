package ca.halo.server.authz;

class InMemorySigningKeyStoreTest extends SigningKeyStoreContract {
  @Override
  protected SigningKeyStore newStore() {
    return new InMemorySigningKeyStore();
  }
}
