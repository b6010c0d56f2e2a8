package ca.halo.server.security;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
import ca.halo.server.context.LaunchContextStore;
import ca.halo.server.context.StoredContext;
import ca.halo.server.fhir.FhirResourceRepository;
import ca.halo.server.fhir.PatientCompartment;
import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.hl7.fhir.r4.model.Resource;

/**
 * Who may see which stored resource on the SoFA: the one rule behind FHIR reads, searches and
 * writes <em>and</em> behind subscription notifications, so that a subscriber is never sent what
 * its own principal could not read through the FHIR API at that moment.
 *
 * <p>The rule, for a principal {@code p} and a resource {@code r}:
 * <ol>
 *   <li>a token stands only until it expires or is revoked, and a token bound to a launch session
 *       only while that session lives;</li>
 *   <li>{@code p}'s scopes must grant the interaction on {@code r}'s type;</li>
 *   <li>a resource tagged with a launch session is visible to tokens of that session, to the
 *       caller that set the context (same client and user), and to an administrator
 *       ({@link #isAdmin}); the server's own untagged data is visible to any scope that grants it;</li>
 *   <li>{@code patient/} scopes reach only the launch patient's compartment.</li>
 * </ol>
 *
 * <p>It also names the callers: an administrator holds one of {@code adminScopes} (default
 * {@code system/Context.admin}); a context source (the PoC) holds one of
 * {@code contextWriteScopes} and is not a launch token.
 *
 * <p>Immutable and thread-safe.
 */
public final class AccessRules {
  private final FhirContext ctx;
  private final LaunchContextStore contexts;
  private final Set<String> contextWriteScopes;
  private final Set<String> adminScopes;
  private final Clock clock;
  private final java.util.function.Predicate<Principal> revoked;
  private final java.util.function.Predicate<Principal> grantStands;

  public AccessRules(FhirContext ctx, LaunchContextStore contexts, Set<String> contextWriteScopes,
      Set<String> adminScopes, Clock clock) {
    this(ctx, contexts, contextWriteScopes, adminScopes, clock, p -> false, p -> false);
  }

  /**
   * @param revoked whether a principal's token has been revoked since it was checked (the SoFA
   *     asks its authorization server by {@code jti}); used where a principal outlives its request
   *     (a subscription's subscriber)
   * @param grantStands whether a principal stands on an authorization grant that is still active
   *     (this SoFA's own sign-ins): then its access token's expiry does not end it, the grant's
   *     end does
   */
  public AccessRules(FhirContext ctx, LaunchContextStore contexts, Set<String> contextWriteScopes,
      Set<String> adminScopes, Clock clock, java.util.function.Predicate<Principal> revoked,
      java.util.function.Predicate<Principal> grantStands) {
    this.revoked = Objects.requireNonNull(revoked, "revoked");
    this.grantStands = Objects.requireNonNull(grantStands, "grantStands");
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    this.contexts = Objects.requireNonNull(contexts, "contexts");
    this.contextWriteScopes = Set.copyOf(contextWriteScopes);
    this.adminScopes = Set.copyOf(adminScopes);
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Holds an administrator scope: may clear any context and see every session. */
  public boolean isAdmin(Principal p) {
    return adminScopes.stream().anyMatch(p.scopes()::contains);
  }

  /** Holds a scope that allows {@code $set-context} (or an administrator scope). */
  public boolean mayWriteContext(Principal p) {
    return isAdmin(p) || contextWriteScopes.stream().anyMatch(p.scopes()::contains);
  }

  /** A context source: may set contexts and is not itself a launch token. */
  public boolean isContextSource(Principal p) {
    return p.sessionId().isEmpty() && mayWriteContext(p);
  }

  public Set<String> contextWriteScopes() {
    return contextWriteScopes;
  }

  public Set<String> adminScopes() {
    return adminScopes;
  }

  /**
   * Whether the principal still stands now: it has not been revoked, a launch token's session has
   * not ended, and its token has not expired, unless it stands on an active grant of this SoFA (a
   * sign-in, 8 hours by default), whose end then counts instead.
   */
  public boolean isLive(Principal p) {
    return sessionLive(p) && !revoked.test(p)
        && (p.expiresAt().map(clock.instant()::isBefore).orElse(true) || grantStands.test(p));
  }

  /** Whether a launch token's session still lives (true for tokens of no launch). */
  public boolean sessionLive(Principal p) {
    return p.sessionId().isEmpty()
        || contexts.findBySession(p.sessionId().get(), clock.instant()).isPresent();
  }

  /** The live context {@code p} launched in, when it is a launch token. */
  public Optional<StoredContext> sessionContext(Principal p) {
    return p.sessionId().flatMap(s -> contexts.findBySession(s, clock.instant()));
  }

  /** Rule 1 to 4 for a read: whether {@code p} could read {@code r} through the FHIR API now. */
  public boolean mayRead(Principal p, Resource r) {
    SmartScopes.Access a = p.scopes().access(Interaction.READ, r.fhirType());
    return a != SmartScopes.Access.NONE && isLive(p) && visible(p, a, r);
  }

  /**
   * Rules 3 and 4, once the scopes granted {@code access}: the session and the compartment.
   */
  public boolean visible(Principal p, SmartScopes.Access access, Resource r) {
    Optional<String> session = FhirResourceRepository.sessionOf(r);
    if (session.isPresent() && !sessionVisible(p, session.get())) {
      return false;
    }
    if (access == SmartScopes.Access.PATIENT_COMPARTMENT) {
      return p.patient().isPresent()
          && PatientCompartment.patientOf(ctx, r).equals(Optional.of("Patient/" + p.patient().get()));
    }
    return true;
  }

  /**
   * Rule 3 alone: whether {@code p} may see the resources of launch session {@code session}
   * (its own launch, a context it set, or any as an administrator).
   */
  public boolean sessionVisible(Principal p, String session) {
    return session.equals(p.sessionId().orElse(null)) || isAdmin(p)
        || contexts.findBySession(session, clock.instant())
            .map(c -> c.ownerKey().equals(p.bindingKey())).orElse(false);
  }

  @Override
  public String toString() {
    return "AccessRules{contextWriteScopes=" + contextWriteScopes + ", adminScopes=" + adminScopes + "}";
  }
}
