package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;

import ca.halo.core.HaloParseException;
import ca.halo.core.SmartScopes;
import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.halo.core.testkit.Abbrev;
import ca.halo.core.testkit.JsonMutations;
import ca.halo.core.testkit.Mutant;
import ca.halo.core.testkit.Outcomes;
import ca.halo.server.TestSofa;
import ca.halo.server.context.InMemoryLaunchContextStore;
import ca.halo.server.fhir.InMemoryFhirRepository;
import ca.halo.server.security.Principal;
import ca.uhn.fhir.context.FhirContext;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Bundle.BundleEntryComponent;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.Claim;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.MarkdownType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Type;
import org.hl7.fhir.r4.model.UriType;
import org.hl7.fhir.r4.model.UrlType;

/**
 * {@link ContextManager#setContext(Parameters, Principal)} on hostile {@code $set-context} input,
 * two ways: the six-resource context of the integration tests mutated as FHIR objects (parameters
 * dropped, repeated, renamed, retyped, given parts or resources; the Bundle's type, entries,
 * fullUrls, methods, request urls, resources and inner references changed; references to odd
 * strings), and its JSON mutated as text then read by HAPI. Only {@link ContextOperationException} may
 * escape, within a bounded time, and a refused request leaves no resource and no context behind.
 *
 * <p>Test only: ContextManager is being rewritten elsewhere; what this finds is reported, not
 * fixed here.
 */
class SetContextProperties {
  private static final FhirContext CTX = FhirContext.forR4Cached();
  private static final Duration BOUND = Duration.ofSeconds(3);
  private static final Principal EMR = Principal.builder("emr-client").subject("dr.tremblay")
      .scopes(SmartScopes.parse("user/Context.write")).build();
  private static final List<String> NAMES = List.of("appID", "patient", "encounter",
      "fhirContext", "fhirUser", "need_patient_banner", "intent", "smart_style_url", "tenant",
      "resources");
  private static final List<String> FULL_URLS = List.of(
      "urn:uuid:11111111-1111-1111-1111-111111111111",
      "urn:uuid:22222222-2222-2222-2222-222222222222",
      "urn:uuid:33333333-3333-3333-3333-333333333333",
      "urn:uuid:55555555-5555-5555-5555-555555555555");

  // ------------------------------------------------------------------ generators

  @Provide
  Arbitrary<String> strings() {
    return Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.of(FULL_URLS)),
        Tuple.of(4, Arbitraries.of("Patient/1", "Patient/", "/", "a/b/c", "Patient/1/_history/1",
            "", " ", "Encounter/x", "Practitioner/1", "http://other.example/fhir/Patient/1",
            "urn:uuid:99999999-9999-9999-9999-999999999999", "#contained", "Patient/\u0000",
            "Claim/1", "Patient", "https://ehr.example/style.json", "not a url", "http://[::1",
            "Patient/" + "9".repeat(100), "growth-chart", "x".repeat(100_000))),
        Tuple.of(2, Arbitraries.strings().all().ofMaxLength(20)));
  }

  @Provide
  Arbitrary<Supplier<Type>> values() {
    Arbitrary<String> s = strings();
    return Arbitraries.frequencyOf(
        Tuple.of(3, s.map(v -> (Supplier<Type>) () -> new Reference(v))),
        Tuple.of(3, s.map(v -> (Supplier<Type>) () -> new StringType(v))),
        Tuple.of(1, s.map(v -> (Supplier<Type>) () -> new UrlType(v))),
        Tuple.of(1, s.map(v -> (Supplier<Type>) () -> new UriType(v))),
        Tuple.of(1, s.map(v -> (Supplier<Type>) () -> new CanonicalType(v))),
        Tuple.of(1, s.map(v -> (Supplier<Type>) () -> new MarkdownType(v))),
        Tuple.of(1, s.map(v -> (Supplier<Type>) () -> new CodeType(v))),
        Tuple.of(1, Arbitraries.integers().map(i -> (Supplier<Type>) () -> new IntegerType(i))),
        Tuple.of(1, Arbitraries.of(true, false).map(b -> (Supplier<Type>) () -> new BooleanType(b))),
        Tuple.of(2, Arbitraries.of(
            (Supplier<Type>) BooleanType::new, StringType::new, UrlType::new, Reference::new,
            () -> new Reference().setDisplay("no reference"), () -> null)));
  }

  @Provide
  Arbitrary<Supplier<Resource>> resources() {
    return Arbitraries.of(
        Patient::new, Observation::new, Encounter::new, Claim::new, Parameters::new,
        () -> new Bundle().setType(Bundle.BundleType.TRANSACTION),
        () -> {
          Observation o = new Observation();
          o.setStatus(Observation.ObservationStatus.FINAL);
          o.setSubject(new Reference("urn:uuid:99999999-9999-9999-9999-999999999999"));
          return o;
        },
        () -> {
          Observation o = new Observation();
          o.setSubject(new Reference("Patient/does-not-exist"));
          o.addContained(new Patient().setId("c1"));
          o.setPerformer(List.of(new Reference("#c1")));
          return o;
        },
        () -> {
          Patient p = new Patient();
          p.setId("preset-id");
          p.addLink().setOther(new Reference(FULL_URLS.get(0)));
          return p;
        },
        () -> null);
  }

  /** One change to the Parameters; applied in order. */
  interface Change {
    void apply(Parameters p);
  }

  private static final class Named implements Change {
    final String name;
    final Change change;

    Named(String name, Change change) {
      this.name = name;
      this.change = change;
    }

    @Override
    public void apply(Parameters p) {
      change.apply(p);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private static ParametersParameterComponent param(Parameters p, int i) {
    return p.getParameter().isEmpty() ? null : p.getParameter().get(i % p.getParameter().size());
  }

  private static Bundle bundle(Parameters p) {
    for (ParametersParameterComponent c : p.getParameter()) {
      if (c.getResource() instanceof Bundle) {
        return (Bundle) c.getResource();
      }
    }
    return null;
  }

  private static BundleEntryComponent entry(Parameters p, int j) {
    Bundle b = bundle(p);
    return b == null || b.getEntry().isEmpty() ? null : b.getEntry().get(j % b.getEntry().size());
  }

  @Provide
  Arbitrary<Change> changes() {
    Arbitrary<Integer> at = Arbitraries.integers().between(0, 1000);
    Arbitrary<String> names = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.of(NAMES)),
        Tuple.of(1, Arbitraries.of("patientt", "", "launch", "x".repeat(10_000))),
        Tuple.of(1, Arbitraries.just((String) null)));
    Arbitrary<Bundle.HTTPVerb> verbs = Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.of(Bundle.HTTPVerb.class)),
        Tuple.of(1, Arbitraries.just((Bundle.HTTPVerb) null)));
    Arbitrary<Bundle.BundleType> types = Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.of(Bundle.BundleType.class)),
        Tuple.of(1, Arbitraries.just((Bundle.BundleType) null)));
    Arbitrary<String> s = strings();
    Arbitrary<Supplier<Type>> v = values();
    Arbitrary<Supplier<Resource>> r = resources();
    return Arbitraries.oneOf(
        at.map(i -> new Named("drop param " + i, p -> {
          if (param(p, i) != null) {
            p.getParameter().remove(param(p, i));
          }
        })),
        at.map(i -> new Named("repeat param " + i, p -> {
          if (param(p, i) != null) {
            p.getParameter().add(param(p, i).copy());
          }
        })),
        Combinators.combine(at, names).as((i, n) -> new Named("rename param " + i + " to "
            + Abbrev.of(n, 20), p -> {
              if (param(p, i) != null) {
                param(p, i).setName(n);
              }
            })),
        Combinators.combine(at, v).as((i, t) -> new Named("retype param " + i, p -> {
          if (param(p, i) != null) {
            param(p, i).setValue(t.get());
          }
        })),
        Combinators.combine(names, v).as((n, t) -> new Named("add param "
            + Abbrev.of(n, 20), p -> p.addParameter().setName(n).setValue(t.get()))),
        Combinators.combine(at, r).as((i, res) -> new Named("param resource " + i, p -> {
          if (param(p, i) != null) {
            param(p, i).setResource(res.get());
          }
        })),
        at.map(i -> new Named("param part " + i, p -> {
          if (param(p, i) != null) {
            param(p, i).addPart().setName("x").setValue(new StringType("y"));
          }
        })),
        types.map(t -> new Named("bundle type " + t, p -> {
          if (bundle(p) != null) {
            bundle(p).setType(t);
          }
        })),
        at.map(j -> new Named("drop entry " + j, p -> {
          if (entry(p, j) != null) {
            bundle(p).getEntry().remove(entry(p, j));
          }
        })),
        at.map(j -> new Named("repeat entry " + j, p -> {
          if (entry(p, j) != null) {
            bundle(p).getEntry().add(entry(p, j).copy());
          }
        })),
        Combinators.combine(at, s).as((j, u) -> new Named("entry fullUrl " + j + "="
            + Abbrev.of(u, 30), p -> {
              if (entry(p, j) != null) {
                entry(p, j).setFullUrl(u.isBlank() ? null : u);
              }
            })),
        Combinators.combine(at, verbs).as((j, m) -> new Named("entry method " + j + "=" + m,
            p -> {
              if (entry(p, j) != null) {
                entry(p, j).getRequest().setMethod(m);
              }
            })),
        Combinators.combine(at, s).as((j, u) -> new Named("entry request.url " + j + "="
            + Abbrev.of(u, 30), p -> {
              if (entry(p, j) != null) {
                entry(p, j).getRequest().setUrl(u);
              }
            })),
        Combinators.combine(at, r).as((j, res) -> new Named("entry resource " + j, p -> {
          if (entry(p, j) != null) {
            entry(p, j).setResource(res.get());
          }
        })),
        Combinators.combine(at, s).as((j, u) -> new Named("entry inner reference " + j + "="
            + Abbrev.of(u, 30), p -> {
              if (entry(p, j) != null && entry(p, j).getResource() instanceof Observation) {
                ((Observation) entry(p, j).getResource()).setSubject(new Reference(u));
              } else if (entry(p, j) != null && entry(p, j).getResource() instanceof Encounter) {
                ((Encounter) entry(p, j).getResource()).setSubject(new Reference(u));
              }
            })),
        Combinators.combine(at, s).as((j, u) -> new Named("entry resource id " + j + "="
            + Abbrev.of(u, 30), p -> {
              if (entry(p, j) != null && entry(p, j).getResource() != null) {
                entry(p, j).getResource().setId(u);
              }
            })),
        Arbitraries.integers().between(50, 3000).map(n -> new Named(n + " fhirContext params",
            p -> {
              for (int k = 0; k < n; k++) {
                p.addParameter().setName("fhirContext").setValue(new Reference(FULL_URLS.get(k % 4)));
              }
            })));
  }

  // ------------------------------------------------------------------ the properties

  /**
   * The first requests of a JVM load HAPI's classes and models: seconds on a busy machine. The
   * bound is about runaway work on one input, so they run before it applies.
   */
  @BeforeContainer
  static void warmUp() {
    for (int i = 0; i < 3; i++) {
      InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
      ContextManager cm = ContextManager.builder(repo, new InMemoryLaunchContextStore(10)).build();
      cm.setContext(TestSofa.sixResourceContext("growth-chart"), EMR);
      Parameters bad = TestSofa.sixResourceContext("growth-chart");
      bad.getParameter().remove(0);
      try {
        cm.setContext(bad, EMR);
      } catch (ContextOperationException e) {
        // the refusal path, loaded too
      }
    }
  }

  /** Runs one request on a fresh repository and store; checks the outcome and the residue. */
  private static void check(Parameters in) {
    InMemoryFhirRepository repo = new InMemoryFhirRepository(CTX);
    InMemoryLaunchContextStore store = new InMemoryLaunchContextStore(10_000);
    ContextManager cm = ContextManager.builder(repo, store).build();
    Outcomes.Outcome<Parameters> out = Outcomes.onlyTyped(BOUND, () -> cm.setContext(in, EMR),
        ContextOperationException.class);
    Statistics.label("outcome").collect(out.succeeded() ? "stored"
        : "ContextOperationException " + ((ContextOperationException) out.error()).httpStatus());
    if (out.succeeded()) {
      assertThat(out.value().getParameter()).extracting(ParametersParameterComponent::getName)
          .contains("launchID");
      assertThat(store.size()).isEqualTo(1);
    } else {
      assertThat(repo.size()).as("a refused $set-context leaves no resource behind").isZero();
      assertThat(store.size()).as("a refused $set-context leaves no context behind").isZero();
    }
  }

  @Property(tries = 500)
  void setContext_mutatedParameters_onlyContextOperationException(
      @ForAll("changeLists") List<Change> changes) {
    Parameters in = TestSofa.sixResourceContext("growth-chart");
    for (Change c : changes) {
      c.apply(in);
    }
    check(in);
  }

  @Provide
  Arbitrary<List<Change>> changeLists() {
    return changes().list().ofMinSize(1).ofMaxSize(4);
  }

  @Provide
  Arbitrary<Mutant> bodies() {
    return JsonMutations.mutantsOf(CTX.newJsonParser().encodeResourceToString(
        TestSofa.sixResourceContext("growth-chart")), List.of("resourceType", "parameter", "name",
        "valueString", "valueReference", "valueBoolean", "valueUrl", "resource", "entry",
        "fullUrl", "request", "method", "url", "type", "reference", "subject", "id", "part"));
  }

  @Property(tries = 300)
  void setContext_mutatedJsonBody_onlyContextOperationException(@ForAll("bodies") Mutant m) {
    // read as the SDK reads a foreign body (HAPI alone hangs on numbers such as 1E+50000000)
    IBaseResource r;
    try {
      r = FhirJsonBodies.parse(CTX, m.text(), "$set-context body");
    } catch (HaloParseException e) {
      Statistics.label("outcome").collect("not FHIR");
      return;
    }
    if (!(r instanceof Parameters)) {
      Statistics.label("outcome").collect("not Parameters");
      return;
    }
    check((Parameters) r);
  }
}
