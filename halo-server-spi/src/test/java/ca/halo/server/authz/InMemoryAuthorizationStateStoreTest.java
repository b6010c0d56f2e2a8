package ca.halo.server.authz;

import ca.halo.server.TestClock;

class InMemoryAuthorizationStateStoreTest extends AuthorizationStateStoreContract {
  @Override
  protected AuthorizationStateStore newStore(TestClock clock, int capacity) {
    return InMemoryAuthorizationStateStore.builder().clock(clock).capacity(capacity).maxPerOwner(2).build();
  }
}
