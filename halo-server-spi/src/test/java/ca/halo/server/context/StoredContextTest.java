package ca.halo.server.context;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The session references a StoredContext keeps (packed in one string) are the ones it was given. */
class StoredContextTest {

  @Provide
  Arbitrary<List<String>> references() {
    Arbitrary<String> ref = Arbitraries.oneOf(
        Arbitraries.strings().withChars("abcdef0123456789").ofMinLength(1).ofMaxLength(24)
            .map(id -> "Observation/" + id),
        Arbitraries.of("", "Patient/a", "Patient/ab", "atient/a", "Patient/a\nPatient/b", "\n",
            "a\n", "\nb"),
        Arbitraries.strings().ofMaxLength(8));
    return ref.list().ofMaxSize(12);
  }

  @org.junit.jupiter.api.Test
  void emptyReference_foundOnlyWhereItIs() {
    for (List<String> given : List.of(List.of("ab"), List.of("ab", ""), List.of("", "ab"),
        List.of("a", "", "b"), List.of(""), List.<String>of())) {
      StoredContext.Builder b = StoredContext.builder().launchId("L").sessionId("S")
          .ownerClientId("emr").createdAt(Instant.EPOCH).expiresAt(Instant.EPOCH.plusSeconds(60));
      given.forEach(b::addResource);
      assertThat(b.build().resources().contains("")).as(given.toString())
          .isEqualTo(given.contains(""));
      assertThat(new ArrayList<>(b.build().resources())).isEqualTo(given);
    }
  }

  @org.junit.jupiter.api.Test
  void aReferenceSpanningTwoLines_isNotAMember_andEqualsStaysSymmetric() {
    StoredContext c = StoredContext.builder().launchId("L").sessionId("S").ownerClientId("emr")
        .createdAt(Instant.EPOCH).expiresAt(Instant.EPOCH.plusSeconds(60))
        .addResource("Patient/1").addResource("Observation/2").addResource("Condition/3").build();
    assertThat(c.resources().contains("Patient/1\nObservation/2")).isFalse();
    assertThat(c.resources().contains("Observation/2\nCondition/3")).isFalse();
    Set<String> odd = new LinkedHashSet<>(List.of("Patient/1\nObservation/2",
        "Observation/2\nCondition/3", "Condition/3"));
    assertThat(c.resources().equals(odd)).isFalse();
    assertThat(odd.equals(c.resources())).isFalse();
  }

  @Property(tries = 500)
  void resources_areExactlyTheOnesGiven_inOrder(@ForAll("references") List<String> given,
      @ForAll("references") List<String> probes) {
    StoredContext.Builder b = StoredContext.builder().launchId("L").sessionId("S")
        .ownerClientId("emr").createdAt(Instant.EPOCH).expiresAt(Instant.EPOCH.plusSeconds(60));
    given.forEach(b::addResource);
    StoredContext c = b.build();
    Set<String> expected = new LinkedHashSet<>(given);
    assertThat(new ArrayList<>(c.resources())).containsExactlyElementsOf(expected);
    assertThat(c.resources()).hasSize(expected.size()).isEqualTo(expected);
    assertThat(c.resources().hashCode()).isEqualTo(expected.hashCode());
    for (String p : probes) {
      assertThat(c.resources().contains(p)).as(p).isEqualTo(expected.contains(p));
    }
    for (String g : given) {
      assertThat(c.resources()).contains(g);
    }
    assertThat(c.resources().contains(null)).isFalse();
    assertThat(c.withResources(probes).resources())
        .containsExactlyElementsOf(new LinkedHashSet<>(concat(given, probes)));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
