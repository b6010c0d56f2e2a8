package ca.halo.server.subscription;

class InMemorySubscriptionStoreTest extends SubscriptionStoreContract {
  @Override
  protected SubscriptionStore newStore() {
    return new InMemorySubscriptionStore();
  }
}
