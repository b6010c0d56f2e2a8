package ca.halo.server.context;

class InMemoryLaunchContextStoreTest extends LaunchContextStoreContract {
  @Override
  protected LaunchContextStore newStore(int capacity) {
    return new InMemoryLaunchContextStore(capacity);
  }
}
