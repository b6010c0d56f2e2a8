package ca.halo.server.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Resource;

/**
 * The repository's table of resources by id (open addressing, deletion by shifting back) against
 * a plain map, under random creates, updates and deletes: every live resource is found, every
 * deleted one is not, and a search by type lists exactly the live ones.
 */
class InMemoryFhirRepositoryTableTest {
  private static final FhirContext CTX = FhirContext.forR4Cached();

  @org.junit.jupiter.api.Test
  void idsThatCollideInStringHashCode_allStoredFoundAndRemoved() {
    // "Aa" and "BB" have one String.hashCode: 2^12 ids of 12 such pairs all share it
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 4096; i++) {
      StringBuilder id = new StringBuilder();
      for (int bit = 0; bit < 12; bit++) {
        id.append((i >> bit & 1) == 0 ? "Aa" : "BB");
      }
      ids.add(id.toString());
    }
    assertThat(ids.stream().map(String::hashCode).distinct()).hasSize(1);
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    for (String id : ids) {
      Observation o = new Observation();
      o.setId(id);
      o.getCode().setText(id);
      repo.update(o);
    }
    for (String id : ids) {
      assertThat(((Observation) repo.read("Observation", id).orElseThrow()).getCode().getText())
          .isEqualTo(id);
    }
    for (int i = 0; i < ids.size(); i += 2) {
      assertThat(repo.delete("Observation", ids.get(i))).isTrue();
    }
    int live = 0;
    for (int i = 0; i < ids.size(); i++) {
      boolean present = repo.read("Observation", ids.get(i)).isPresent();
      assertThat(present).as(ids.get(i)).isEqualTo(i % 2 == 1);
      live += present ? 1 : 0;
    }
    assertThat(live).isEqualTo(2048).isEqualTo(repo.size());
    assertThat(repo.delete("Observation", null)).isFalse();
  }

  @Property(tries = 60)
  void createsUpdatesAndDeletes_agreeWithAMap(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 400) int operations) {
    Random random = new Random(seed);
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    Map<String, String> model = new HashMap<>(); // id -> code
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < operations; i++) {
      int op = random.nextInt(10);
      if (op < 5 || ids.isEmpty()) {
        Observation o = new Observation();
        o.getCode().setText("c" + i);
        Resource stored = repo.create(o);
        String id = stored.getIdElement().getIdPart();
        assertThat(model).doesNotContainKey(id);
        model.put(id, "c" + i);
        ids.add(id);
      } else if (op < 7) {
        String id = ids.get(random.nextInt(ids.size()));
        boolean live = model.containsKey(id);
        assertThat(repo.delete("Observation", id)).isEqualTo(live);
        model.remove(id);
      } else {
        String id = ids.get(random.nextInt(ids.size()));
        if (model.containsKey(id)) {
          Observation o = new Observation();
          o.setId(id);
          o.getCode().setText("u" + i);
          repo.update(o);
          model.put(id, "u" + i);
        }
      }
    }
    for (String id : ids) {
      var r = repo.read("Observation", id);
      assertThat(r.isPresent()).as(id).isEqualTo(model.containsKey(id));
      r.ifPresent(x -> assertThat(((Observation) x).getCode().getText()).isEqualTo(model.get(id)));
    }
    assertThat(repo.read("Observation", "no-such-id")).isEmpty();
    assertThat(repo.size()).isEqualTo(model.size());
    List<String> listed = new ArrayList<>();
    for (Resource r : repo.search("Observation", SearchCriteria.builder().limit(10_000).build())) {
      listed.add(r.getIdElement().getIdPart());
    }
    assertThat(listed).containsExactlyInAnyOrderElementsOf(model.keySet());
  }

  @org.junit.jupiter.api.Test
  void manyChosenIds_updatedDeletedAndRead_agreeWithAMap() {
    Random random = new Random(11);
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    Map<String, String> model = new HashMap<>();
    for (int i = 0; i < 40_000; i++) {
      // short ids from a small alphabet: many share low hash bits; enough to grow every part
      String id = Integer.toString(random.nextInt(30_000), 7);
      if (random.nextInt(4) == 0) {
        assertThat(repo.delete("Observation", id)).as(id).isEqualTo(model.remove(id) != null);
      } else {
        Observation o = new Observation();
        o.setId(id);
        o.getCode().setText("v" + i);
        repo.update(o);
        model.put(id, "v" + i);
      }
    }
    for (int n = 0; n < 30_000; n++) {
      String id = Integer.toString(n, 7);
      var r = repo.read("Observation", id);
      assertThat(r.isPresent()).as(id).isEqualTo(model.containsKey(id));
      r.ifPresent(x -> assertThat(((Observation) x).getCode().getText()).isEqualTo(model.get(id)));
    }
    assertThat(repo.size()).isEqualTo(model.size());
    List<String> listed = new ArrayList<>();
    for (Resource r : repo.search("Observation", SearchCriteria.builder().limit(100_000).build())) {
      listed.add(r.getIdElement().getIdPart());
    }
    assertThat(listed).containsExactlyInAnyOrderElementsOf(model.keySet());
  }

  /**
   * Ids chosen, by their String.hashCode, to fall in one part with consecutive home slots made
   * one unbroken run of 16,000 slots there (each insert passed fewer than 64, so the part never
   * rehashed with its own seed), and a lookup of an absent id walked it all under the lock
   * (found by the attacker's review of issue 18). With the table's seed in the hash they spread.
   */
  @org.junit.jupiter.api.Test
  void idsChosenToMakeOneLongRun_spreadOverThePartsInShortRuns() throws Exception {
    int n = 16_000;
    int mask = (1 << 15) - 1;
    java.util.TreeMap<Integer, List<String>> byHome = new java.util.TreeMap<>();
    Random random = new Random(5);
    int candidates = 0;
    while (candidates < 2 * n) {
      String id = Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
      int h = id.hashCode();
      int home = (h ^ (h >>> 16)) & mask;
      if (ca.halo.server.internal.ShardedMap.shardOf(h) == 0 && home < n) {
        byHome.computeIfAbsent(home, x -> new ArrayList<>()).add(id);
        candidates++;
      }
    }
    List<String> chosen = new ArrayList<>();
    int end = byHome.firstKey();
    for (var e : byHome.entrySet()) {
      for (String id : e.getValue()) {
        if (chosen.size() < n && e.getKey() <= end && end - e.getKey() <= 60) {
          chosen.add(id);
          end++;
        }
      }
    }
    assertThat(chosen).hasSizeGreaterThan(15_000);
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    for (String id : chosen) {
      Observation o = new Observation();
      o.setId(id);
      repo.update(o);
    }

    Object[] parts = parts(repo, "Observation");
    int used = 0;
    int longest = 0;
    for (Object part : parts) {
      if (part == null) {
        continue;
      }
      used++;
      java.lang.reflect.Field f = part.getClass().getDeclaredField("slots");
      f.setAccessible(true);
      Object[] slots = (Object[]) f.get(part);
      int run = 0;
      for (int i = 0; i < 2 * slots.length; i++) { // twice round: a run may wrap
        run = slots[i % slots.length] == null ? 0 : run + 1;
        longest = Math.max(longest, Math.min(run, slots.length));
      }
    }
    assertThat(used).as("parts in use").isGreaterThanOrEqualTo(60);
    assertThat(longest).as("longest run of slots").isLessThan(200);
    for (String id : chosen) {
      assertThat(repo.read("Observation", id)).as(id).isPresent();
    }
  }

  private static Object[] parts(InMemoryFhirRepository repo, String type) throws Exception {
    java.lang.reflect.Field byType = InMemoryFhirRepository.class.getDeclaredField("byType");
    byType.setAccessible(true);
    Object table = ((Map<?, ?>) byType.get(repo)).get(type);
    java.lang.reflect.Field parts = table.getClass().getDeclaredField("parts");
    parts.setAccessible(true);
    return (Object[]) parts.get(table);
  }
}
