package ca.halo.core;

/**
 * The five SMART v2 permissions ({@code c r u d s}) a resource scope can grant.
 *
 * <p>Spec: SMART App Launch 2.1.0 section 3.0.2 (scopes for requesting FHIR resources).
 */
public enum Interaction {
  CREATE('c'),
  READ('r'),
  UPDATE('u'),
  DELETE('d'),
  SEARCH('s');

  private final char letter;

  Interaction(char letter) {
    this.letter = letter;
  }

  /** The SMART v2 letter of this permission. */
  public char letter() {
    return letter;
  }

  static Interaction ofLetter(char c) {
    for (Interaction i : values()) {
      if (i.letter == c) {
        return i;
      }
    }
    return null;
  }
}
