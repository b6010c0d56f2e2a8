package ca.halo.server.authz;

import java.util.Objects;
import java.util.Optional;

/**
 * A signed-in user: a stable subject, the FHIR resource that represents them
 * ({@code Practitioner/123}), and a display name.
 *
 * <p>Immutable and thread-safe.
 */
public final class AuthenticatedUser {
  private final String subject;
  private final String fhirUser;
  private final String displayName;

  public AuthenticatedUser(String subject, String fhirUser, String displayName) {
    this.subject = Objects.requireNonNull(subject, "subject");
    this.fhirUser = fhirUser;
    this.displayName = displayName == null ? subject : displayName;
  }

  public String subject() { return subject; }
  public Optional<String> fhirUser() { return Optional.ofNullable(fhirUser); }
  public String displayName() { return displayName; }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuthenticatedUser && ((AuthenticatedUser) o).subject.equals(subject)
        && Objects.equals(((AuthenticatedUser) o).fhirUser, fhirUser);
  }

  @Override
  public int hashCode() {
    return subject.hashCode();
  }

  @Override
  public String toString() {
    return "AuthenticatedUser{" + subject + "}";
  }
}
