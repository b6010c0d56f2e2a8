package ca.halo.core.testkit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One mutated input: its bytes, and the recipe that made it from a valid fixture. {@link
 * #toString()} prints the recipe and an abbreviated view of the text, so a failing property's report
 * stays readable even for a multi-megabyte input.
 */
public final class Mutant {
  private final byte[] bytes;
  private final String recipe;

  public Mutant(byte[] bytes, String recipe) {
    this.bytes = bytes.clone();
    this.recipe = recipe;
  }

  public static Mutant ofText(String text, String recipe) {
    return new Mutant(text.getBytes(StandardCharsets.UTF_8), recipe);
  }

  /** The raw bytes (may be invalid UTF-8). */
  public byte[] bytes() {
    return bytes.clone();
  }

  /** The bytes decoded as UTF-8 (invalid sequences become U+FFFD), as a String API sees them. */
  public String text() {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  public String recipe() {
    return recipe;
  }

  public int length() {
    return bytes.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Mutant && Arrays.equals(((Mutant) o).bytes, bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "Mutant{" + recipe + ", " + bytes.length + " bytes: " + Abbrev.of(text(), 300) + "}";
  }
}
