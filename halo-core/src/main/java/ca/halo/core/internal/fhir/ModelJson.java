package ca.halo.core.internal.fhir;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.BackboneElement;
import org.hl7.fhir.r4.model.BackboneType;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.DomainResource;
import org.hl7.fhir.r4.model.Element;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Meta;
import org.hl7.fhir.r4.model.MoneyQuantity;
import org.hl7.fhir.r4.model.Narrative;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Property;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.SimpleQuantity;
import org.hl7.fhir.r4.model.StringType;

/**
 * Writes an R4 resource as FHIR JSON by walking the model's own element lists
 * ({@link Base#children()}), without a {@code FhirContext}. Not public API.
 *
 * <p>Why: HAPI's parser needs its context's model scan, which loads and initialises every R4
 * resource and datatype class (1.2-1.3 s of a plain JVM's first FHIR call here, most of the time
 * from {@code java} to a first {@code $set-context}). This walk loads only the classes the
 * resource uses. The JSON is what HAPI's parser writes for the same resource, element for
 * element (ModelJsonTest compares the two as JSON trees, on the specification's own resources
 * and on every R4 type with every element filled).
 *
 * <p>Where a resource holds something HAPI would write in its own way, {@link #write} returns
 * empty and the caller uses HAPI's encoder. Among them: a {@link Reference} that holds an
 * in-memory resource (HAPI writes its id or contains it) or that HAPI rebuilds (a version, a
 * leading slash); a choice value of a type its element does not declare (an Age in
 * Observation.value[x], which HAPI names valueQuantity); a contained resource without an id, and
 * what HAPI leaves out inside contained resources; an extension with only a url; an
 * application's own classes; a number that is not a JSON number. Two reviews as an attacker
 * found these; each is in ModelJsonTest.
 */
public final class ModelJson {
  private static final Pattern JSON_NUMBER =
      Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

  private static final String MODEL = "org.hl7.fhir.r4.model.";
  /**
   * jackson-core's own factory: an ObjectMapper's first use initialises databind (about 300
   * classes, 0.2 s of a fresh JVM), which this walk does not need.
   */
  private static final JsonFactory FACTORY = new JsonFactory();

  /** JSON nesting past which the walk stops (Jackson's own writer refuses past 1,000). */
  static final int MAX_DEPTH = 300;

  private ModelJson() {}

  /** Thrown inside the walk for a shape left to HAPI. */
  private static final class LeftToHapi extends Exception {
    LeftToHapi() {
      super(null, null, false, false);
    }
  }

  /**
   * A text with a lone surrogate: HAPI's encoder writes it as {@code ?} (its writer encodes to
   * UTF-8), Jackson's as a {@code \\uD800} escape; left to HAPI.
   */
  private static final class LoneSurrogate extends IOException {
    LoneSurrogate() {
      super(null, null);
    }
  }

  /** The walk's generator, which also knows how deep inside contained resources it is. */
  private static final class Walk extends JsonGeneratorDelegate {
    int contained;

    Walk(JsonGenerator g) {
      super(g, false);
    }

    @Override
    public void writeString(String text) throws IOException {
      super.writeString(paired(text));
    }

    @Override
    public void writeStringField(String name, String value) throws IOException {
      super.writeStringField(name, paired(value));
    }

    private static String paired(String s) throws LoneSurrogate {
      if (s != null && ca.halo.core.internal.Json.hasUnpairedSurrogate(s)) {
        throw new LoneSurrogate();
      }
      return s;
    }
  }

  private static boolean insideContained(JsonGenerator g) {
    return ((Walk) g).contained > 0;
  }

  /** {@code r} as compact FHIR JSON in UTF-8, or empty where HAPI's encoder should write it. */
  public static Optional<byte[]> write(Resource r) {
    if (!r.getClass().getName().startsWith(MODEL)) {
      return Optional.empty(); // a class of the application's own (@ResourceDef)
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
    try (JsonGenerator g = new Walk(FACTORY.createGenerator(out, JsonEncoding.UTF8))) {
      resource(g, r, false);
    } catch (LeftToHapi | LoneSurrogate e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return Optional.of(out.toByteArray());
  }

  /**
   * Calls {@code f} for every {@link Reference} in {@code b}, nested ones and those of contained
   * and inlined resources included, in document order. Iterative: any depth of nesting.
   */
  public static void forEachReference(Base b, Consumer<Reference> f) {
    Deque<Base> todo = new ArrayDeque<>();
    todo.push(b);
    List<Base> children = new ArrayList<>();
    while (!todo.isEmpty()) {
      Base next = todo.pop();
      if (next instanceof Reference) {
        f.accept((Reference) next);
      }
      children.clear();
      for (Property p : next.children()) {
        for (Base v : p.getValues()) {
          if (v != null && !(v instanceof PrimitiveType)) {
            children.add(v);
          }
        }
      }
      for (int i = children.size() - 1; i >= 0; i--) {
        todo.push(children.get(i));
      }
    }
  }

  private static void resource(JsonGenerator g, Resource r, boolean contained)
      throws IOException, LeftToHapi {
    g.writeStartObject();
    g.writeStringField("resourceType", r.fhirType());
    members(g, r, contained);
    g.writeEndObject();
  }

  /**
   * The elements every resource and element has are written from their own accessors: the
   * model's {@code children()} leaves them out for some types (StructureDefinition,
   * ElementDefinition).
   */
  private static final Set<String> RESOURCE_BASE = Set.of("id", "meta", "implicitRules",
      "language", "text", "contained", "extension", "modifierExtension");
  private static final Set<String> ELEMENT_BASE = Set.of("id", "extension", "modifierExtension");
  /** Elements HAPI does not write inside a contained resource, whatever holds them. */
  private static final Set<String> NOT_IN_CONTAINED = Set.of("security", "versionId",
      "lastUpdated");

  private static void members(JsonGenerator g, Base b, boolean containedResource)
      throws IOException, LeftToHapi {
    if (b instanceof Narrative) {
      narrative(g, (Narrative) b);
      return;
    }
    Set<String> base;
    if (b instanceof Resource) {
      Resource r = (Resource) b;
      id(g, r, containedResource);
      meta(g, r, containedResource);
      field(g, "implicitRules", r.hasImplicitRulesElement() ? r.getImplicitRulesElement() : null);
      field(g, "language", r.hasLanguageElement() ? r.getLanguageElement() : null);
      if (r instanceof DomainResource) {
        DomainResource d = (DomainResource) r;
        if (insideContained(g) && d.hasContained()) {
          throw new LeftToHapi(); // HAPI drops resources contained anywhere in a contained one
        }
        field(g, "text", d.hasText() ? d.getText() : null);
        if (d.hasContained()) {
          Set<String> ids = new java.util.HashSet<>();
          for (Resource c : d.getContained()) {
            if (c != null && c.hasIdElement() && !ids.add(c.getIdElement().getIdPart())) {
              throw new LeftToHapi(); // HAPI keeps the first of two with one id
            }
          }
          field(g, "contained", d.getContained(), true, true);
        }
        if (d.hasExtension()) {
          field(g, "extension", d.getExtension(), true, false);
        }
        if (d.hasModifierExtension()) {
          field(g, "modifierExtension", d.getModifierExtension(), true, false);
        }
      }
      base = RESOURCE_BASE;
    } else {
      Element e = (Element) b;
      elementId(g, e);
      if (e.hasExtension()) {
        field(g, "extension", e.getExtension(), true, false);
      }
      if (e instanceof BackboneElement && ((BackboneElement) e).hasModifierExtension()) {
        field(g, "modifierExtension", ((BackboneElement) e).getModifierExtension(), true, false);
      } else if (e instanceof BackboneType && ((BackboneType) e).hasModifierExtension()) {
        field(g, "modifierExtension", ((BackboneType) e).getModifierExtension(), true, false);
      }
      base = ELEMENT_BASE;
    }
    boolean inside = insideContained(g);
    for (Property p : b.children()) {
      String name = p.getName();
      if (base.contains(name)) {
        continue;
      }
      List<Base> values = present(p.getValues());
      if (values.isEmpty()) {
        continue;
      }
      if (inside && NOT_IN_CONTAINED.contains(name)) {
        throw new LeftToHapi(); // HAPI leaves these out anywhere inside a contained resource
      }
      if (name.endsWith("[x]")) {
        name = choiceName(name.substring(0, name.length() - 3), p.getTypeCode(), values.get(0));
      }
      field(g, name, values, p.getMaxCardinality() > 1, false);
    }
  }

  /**
   * The JSON name of a choice element's value: the element's name and the value's type, where
   * that type is one the element declares (Quantity's profiles count as Quantity, as in HAPI).
   * A subtype the element does not declare (an Age in Observation.value[x], which HAPI writes as
   * valueQuantity; a markdown where only string is declared) is left to HAPI.
   */
  private static String choiceName(String element, String declared, Base v) throws LeftToHapi {
    String type = v.fhirType();
    if (v instanceof Meta) {
      throw new LeftToHapi(); // HAPI treats any Meta value as the resource's own meta
    }
    if (declared == null || type == null || type.isEmpty()) {
      throw new LeftToHapi();
    }
    if (declared.trim().equals("*")) {
      if (v instanceof SimpleQuantity || v instanceof MoneyQuantity) {
        throw new LeftToHapi(); // HAPI names these profiles its own way in an open type
      }
    } else {
      boolean listed = false;
      for (String t : declared.replaceAll("\\([^)]*\\)", "").split("\\|")) {
        String d = t.trim();
        listed |= d.equals(type) || type.equals("Quantity")
            && (d.equals("SimpleQuantity") || d.equals("MoneyQuantity"));
      }
      if (!listed) {
        throw new LeftToHapi();
      }
    }
    return element + Character.toUpperCase(type.charAt(0)) + type.substring(1);
  }

  /** An element's id, written as HAPI writes it; one with extensions, or blank, is HAPI's. */
  private static void elementId(JsonGenerator g, Element e) throws IOException, LeftToHapi {
    if (!e.hasIdElement()) {
      return;
    }
    StringType id = e.getIdElement();
    if (id.hasExtension() || id.hasId() || id.getValue() == null || id.getValue().isBlank()) {
      throw new LeftToHapi();
    }
    g.writeStringField("id", id.getValue());
  }

  private static void field(JsonGenerator g, String name, Base value)
      throws IOException, LeftToHapi {
    if (value != null) {
      field(g, name, List.of(value), false, false);
    }
  }

  private static void field(JsonGenerator g, String name, List<? extends Base> all, boolean list,
      boolean contained) throws IOException, LeftToHapi {
    List<Base> values = present(all);
    if (values.isEmpty()) {
      return;
    }
    if (values.get(0) instanceof PrimitiveType) {
      primitives(g, name, values, list);
    } else if (list) {
      g.writeArrayFieldStart(name);
      for (Base v : values) {
        complex(g, v, contained);
      }
      g.writeEndArray();
    } else {
      g.writeFieldName(name);
      complex(g, values.get(0), false);
    }
  }

  /** As HAPI: a version in the resource's id is written as meta.versionId, unless meta has one. */
  private static void meta(JsonGenerator g, Resource r, boolean contained)
      throws IOException, LeftToHapi {
    Meta given = r.hasMeta() ? r.getMeta() : null;
    if (given != null) {
      for (Coding c : given.getTag()) {
        if (blank(c.getSystem()) && blank(c.getCode())) {
          throw new LeftToHapi(); // HAPI drops such a tag, extensions or not
        }
      }
      for (Coding c : given.getSecurity()) {
        if (blank(c.getSystem()) && blank(c.getCode())) {
          throw new LeftToHapi();
        }
      }
      if (contained && given.hasVersionIdElement()) {
        throw new LeftToHapi(); // HAPI writes an empty meta for it
      }
    }
    String version = r.hasIdElement() ? r.getIdElement().getVersionIdPart() : null;
    if (contained && version != null) {
      throw new LeftToHapi();
    }
    if (version == null || given != null && given.hasVersionId()) {
      field(g, "meta", given);
      return;
    }
    Meta m = given != null ? given.copy() : new Meta();
    field(g, "meta", m.setVersionId(version));
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  /** The values HAPI writes: not null, not empty (a blank string is empty, as in HAPI). */
  private static List<Base> present(List<? extends Base> values) throws LeftToHapi {
    List<Base> out = new ArrayList<>(values.size());
    for (Base v : values) {
      if (v instanceof Reference && (((Reference) v).getResource() != null
          || rewrittenByHapi((Reference) v))) {
        // HAPI writes the target's id or contains the target
        throw new LeftToHapi();
      }
      if (v instanceof Resource && v.isEmpty()) {
        throw new LeftToHapi(); // HAPI writes an empty resource (a contained one with an id)
      }
      if (v != null && !v.getClass().getName().startsWith(MODEL)) {
        throw new LeftToHapi(); // a class of the application's own (@ResourceDef, @Block)
      }
      if (v != null && !v.isEmpty()) {
        out.add(v);
      }
    }
    return out;
  }

  /**
   * A reference HAPI writes otherwise: it rebuilds every reference with an id part through
   * {@code IdType.toVersionless()} (no version, no leading slash or dots).
   */
  private static boolean rewrittenByHapi(Reference r) {
    if (!r.hasReference()) {
      return false;
    }
    String text = r.getReference();
    IdType id = new IdType(text);
    return id.hasIdPart() && !text.equals(id.toVersionless().getValue());
  }

  private static void complex(JsonGenerator g, Base v, boolean contained)
      throws IOException, LeftToHapi {
    if (g.getOutputContext().getNestingDepth() > MAX_DEPTH) {
      throw new LeftToHapi(); // deeper than any real resource; not this walk's stack to spend
    }
    if (v instanceof Resource) {
      if (contained) {
        ((Walk) g).contained++;
      }
      try {
        resource(g, (Resource) v, contained);
      } finally {
        if (contained) {
          ((Walk) g).contained--;
        }
      }
      return;
    }
    if (v instanceof Extension) {
      Extension x = (Extension) v;
      if (!x.hasUrl() || x.getUrlElement().hasExtension() || x.getUrlElement().hasId()
          || !x.hasValue() && !x.hasExtension()) {
        throw new LeftToHapi(); // HAPI drops an extension with only a url, or writes a null url
      }
    }
    g.writeStartObject();
    members(g, v, false);
    g.writeEndObject();
  }

  /** Only the id part, as HAPI writes it; a contained resource's without HAPI's {@code #}. */
  private static void id(JsonGenerator g, Resource r, boolean contained)
      throws IOException, LeftToHapi {
    if (!r.hasIdElement()) {
      if (contained) {
        throw new LeftToHapi(); // HAPI gives a contained resource an id of its own
      }
      return;
    }
    IdType id = r.getIdElement();
    if (id.hasExtension() || id.hasId()) {
      throw new LeftToHapi();
    }
    if (!contained && id.getValue() != null && id.getValue().startsWith("urn:")) {
      return; // HAPI writes no id for a urn: (a Bundle entry's fullUrl, say)
    }
    String part = id.getIdPart();
    if (contained && part != null && part.startsWith("#")) {
      part = part.substring(1);
    }
    if (part != null && !part.isEmpty()) {
      g.writeStringField("id", part);
    } else if (contained) {
      throw new LeftToHapi();
    }
  }

  private static void narrative(JsonGenerator g, Narrative n) throws IOException, LeftToHapi {
    elementId(g, n);
    if (n.hasExtension()) {
      field(g, "extension", n.getExtension(), true, false);
    }
    field(g, "status", n.hasStatusElement() ? n.getStatusElement() : null);
    if (n.hasDiv()) {
      g.writeStringField("div", n.getDiv().getValueAsString());
    }
  }

  /** A primitive's value under {@code name}, its id and extensions under {@code _name}. */
  private static void primitives(JsonGenerator g, String name, List<Base> values, boolean list)
      throws IOException, LeftToHapi {
    boolean anyValue = false;
    boolean anyExtras = false;
    for (Base v : values) {
      PrimitiveType<?> p = (PrimitiveType<?>) v;
      if (p.hasIdElement() || p.hasExtension() && p.fhirType().equals("id")) {
        throw new LeftToHapi(); // HAPI omits a primitive's id, and extensions on an id
      }
      anyValue |= p.hasValue();
      anyExtras |= p.hasExtension();
    }
    if (anyValue || list) { // HAPI writes [null] beside _name for a list
      g.writeFieldName(name);
      if (list) {
        g.writeStartArray();
      }
      for (Base v : values) {
        value(g, (PrimitiveType<?>) v);
      }
      if (list) {
        g.writeEndArray();
      }
    }
    if (anyExtras) {
      g.writeFieldName("_" + name);
      if (list) {
        g.writeStartArray();
      }
      for (Base v : values) {
        PrimitiveType<?> p = (PrimitiveType<?>) v;
        if (!p.hasExtension()) {
          g.writeNull();
          continue;
        }
        g.writeStartObject();
        field(g, "extension", p.getExtension(), true, false);
        g.writeEndObject();
      }
      if (list) {
        g.writeEndArray();
      }
    }
  }

  private static void value(JsonGenerator g, PrimitiveType<?> v) throws IOException, LeftToHapi {
    if (!v.hasValue()) {
      g.writeNull();
      return;
    }
    switch (v.fhirType()) {
      case "boolean":
        g.writeBoolean(((BooleanType) v).booleanValue());
        return;
      case "integer":
      case "positiveInt":
      case "unsignedInt":
      case "decimal":
        String n = v.getValueAsString();
        if (n == null || !JSON_NUMBER.matcher(n).matches()) {
          throw new LeftToHapi();
        }
        g.writeNumber(n);
        return;
      default:
        g.writeString(v.getValueAsString());
    }
  }
}
