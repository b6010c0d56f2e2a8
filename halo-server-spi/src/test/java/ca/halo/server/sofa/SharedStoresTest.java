package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.Browser;
import ca.halo.server.TestSofa;
import ca.halo.server.authz.InMemoryAuthorizationStateStore;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.fhir.InMemoryFhirRepository;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The SoFA on stores given to its builder, and what it does when a shared store fails. */
class SharedStoresTest {
  private TestSofa sofa;

  @AfterEach
  void stop() {
    if (sofa != null) {
      sofa.close();
    }
  }

  @Test
  void authorizationStore_given_theAuthorizationServerKeepsItsStateThere() throws Exception {
    InMemoryAuthorizationStateStore store = InMemoryAuthorizationStateStore.builder().build();
    store.revoke("g1.t1", "app", Instant.now().plusSeconds(3_600));

    sofa = new TestSofa(b -> b.authorizationStore(store));

    assertThat(sofa.server.authorizationServer().isRevoked("g1.t1")).isTrue();
    assertThat(sofa.server.authorizationServer().isRevoked("g1.t2")).as("no grant g1 either").isTrue();
    sofa.emrToken(new Browser(), "dr.tremblay", "password");
    assertThat(store.sizes()).contains("grants=1");
  }

  /** A store whose shared database is out of reach while {@code down} is set. */
  private static final class FailingStore implements LaunchContextStore {
    final LaunchContextStore inner = new InMemoryLaunchContextStore(100);
    final AtomicBoolean down = new AtomicBoolean();

    @Override
    public void create(StoredContext context, int maxPerOwner, long maxBytesPerOwner) {
      if (down.get()) {
        throw new IllegalArgumentException("connection refused"); // any runtime failure
      }
      inner.create(context, maxPerOwner, maxBytesPerOwner);
    }

    @Override public Optional<StoredContext> find(String l, Instant now) { return inner.find(l, now); }
    @Override public Optional<StoredContext> findBySession(String s, Instant now) { return inner.findBySession(s, now); }
    @Override public boolean addResource(String s, String r, Instant now) { return inner.addResource(s, r, now); }
    @Override public Optional<StoredContext> delete(String l) { return inner.delete(l); }
    @Override public WriteCharge chargeWrite(String s, long b, int r, long mb, long mr, Instant now) {
      return inner.chargeWrite(s, b, r, mb, mr, now);
    }
    @Override public void refundWrite(String s, long b, int r) { inner.refundWrite(s, b, r); }
    @Override public List<StoredContext> expired(Instant now, int max) { return inner.expired(now, max); }
    @Override public int size() { return inner.size(); }
  }

  @Test
  void setContext_storeFails_503AndNothingLeftBehind() throws Exception {
    FailingStore store = new FailingStore();
    sofa = new TestSofa(b -> b.contexts(store).maxContextsPerOwner(1));
    String emr = sofa.emrToken(new Browser(), "dr.tremblay", "password");
    store.down.set(true);

    assertThatThrownBy(() -> sofa.setContext(emr, "growth-chart"))
        .isInstanceOf(ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException.class)
        .satisfies(e -> assertThat(((ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException) e)
            .getStatusCode()).isEqualTo(503));

    assertThat(((InMemoryFhirRepository) sofa.server.repository()).size()).as("resources deleted").isZero();
    store.down.set(false);
    // the caller's one-context budget was given back
    assertThat(sofa.setContext(emr, "growth-chart")).isNotBlank();
    assertThat(store.size()).isEqualTo(1);
  }
}
