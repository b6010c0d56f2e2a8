package ca.halo.examples.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.domain.JavaTypeVariable;
import com.tngtech.archunit.core.domain.ThrowsDeclaration;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No type from an {@code ...internal...} package in the public API of a published module
 * (issue 17): {@code internal} packages are left out of the Javadoc and may change in any
 * release, so a user must never have to name one of their types.
 *
 * <p>Reads the compiled production classes (bytecode, through ArchUnit; nothing is loaded) of
 * every published artifact. The public API is every public (or protected, in a class one can
 * extend) member of every public class outside an {@code internal} package: its supertypes,
 * type parameters, field types, parameter and return types (type arguments included, e.g.
 * {@code List<Internal>}) and thrown types. An internal type there is a violation, whether it
 * comes from another module or, as bad for a user, from the same one.
 */
class InternalTypesInPublicApiTest {

  /** The artifacts we publish; their classes are told apart by the jar or directory they come from. */
  private static final Set<String> PUBLISHED = Set.of("halo-core", "halo-sof-client", "halo-sofa-client",
      "halo-catalog-client", "halo-subscription-client", "halo-server-spi", "halo-server-postgres",
      "halo-sofa-server");

  /**
   * Violations found when this check was written, to be fixed, and only ever shrinking: a new
   * one fails the test, and so does an entry here that no longer occurs (delete it then).
   */
  private static final Set<String> ALLOWED = Set.of();

  private static final Pattern MODULE_DIR = Pattern.compile("/(halo-[a-z-]+)/target/classes/");
  private static final Pattern MODULE_JAR = Pattern.compile("/(halo-[a-z-]+)-\\d[^/]*\\.jar!/");

  @Test
  void publicSignatures_ofPublishedModules_nameNoInternalType() {
    JavaClasses classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("ca.halo");
    TreeMap<String, Integer> classesPerModule = new TreeMap<>();
    TreeSet<String> found = new TreeSet<>();
    for (JavaClass c : classes) {
      Optional<String> module = module(c);
      if (module.isEmpty() || !PUBLISHED.contains(module.get())) {
        continue;
      }
      classesPerModule.merge(module.get(), 1, Integer::sum);
      if (isApi(c)) {
        violations(c, module.get(), found);
      }
    }

    // the check reads nothing if the class path changes shape; make sure it saw every module
    assertThat(classesPerModule.keySet()).as("published modules read").isEqualTo(new TreeSet<>(PUBLISHED));
    assertThat(found).as("internal types in public signatures; move the type out of internal, or narrow"
        + " the signature").isSubsetOf(ALLOWED);
    assertThat(ALLOWED).as("fixed since: remove from ALLOWED").isSubsetOf(found);
  }

  /** Adds one line per internal type in the public signature of {@code c}. */
  private static void violations(JavaClass c, String module, Set<String> found) {
    c.getSuperclass().ifPresent(t -> check(c.getName() + " extends", t, module, found));
    c.getInterfaces().forEach(t -> check(c.getName() + " implements", t, module, found));
    for (JavaTypeVariable<JavaClass> v : c.getTypeParameters()) {
      v.getUpperBounds().forEach(t -> check(c.getName() + " type parameter " + v.getName(), t, module, found));
    }
    for (JavaField f : c.getFields()) {
      if (isApi(f.getModifiers(), c)) {
        check(f.getFullName() + " type", f.getType(), module, found);
      }
    }
    for (JavaCodeUnit m : c.getCodeUnits()) {
      if (!isApi(m.getModifiers(), c) || m.getModifiers().contains(JavaModifier.SYNTHETIC)
          || m.getModifiers().contains(JavaModifier.BRIDGE)) {
        continue;
      }
      String name = m.getFullName();
      check(name + " returns", m.getReturnType(), module, found);
      m.getParameterTypes().forEach(t -> check(name + " parameter", t, module, found));
      for (ThrowsDeclaration<? extends JavaCodeUnit> t : m.getThrowsClause()) {
        check(name + " throws", t.getRawType(), module, found);
      }
      for (JavaTypeVariable<? extends JavaCodeUnit> v : m.getTypeParameters()) {
        v.getUpperBounds().forEach(t -> check(name + " type parameter " + v.getName(), t, module, found));
      }
    }
  }

  private static void check(String where, JavaType type, String module, Set<String> found) {
    for (JavaClass raw : type.getAllInvolvedRawTypes()) {
      JavaClass t = raw.isArray() ? raw.getBaseComponentType() : raw;
      if (isInternal(t.getPackageName())) {
        String from = module(t).filter(m -> !m.equals(module)).map(m -> " (from " + m + ")").orElse("");
        found.add(where + " " + t.getName() + from);
      }
    }
  }

  /** Public, outside internal packages, and every enclosing class public too. */
  private static boolean isApi(JavaClass c) {
    if (isInternal(c.getPackageName()) || c.isAnonymousClass() || c.isLocalClass()) {
      return false;
    }
    for (Optional<JavaClass> k = Optional.of(c); k.isPresent(); k = k.get().getEnclosingClass()) {
      Set<JavaModifier> mods = k.get().getModifiers();
      if (!mods.contains(JavaModifier.PUBLIC) && !mods.contains(JavaModifier.PROTECTED)) {
        return false;
      }
    }
    return true;
  }

  /** A member a user can reach: public, or protected in a class that can be extended. */
  private static boolean isApi(Set<JavaModifier> member, JavaClass owner) {
    return member.contains(JavaModifier.PUBLIC)
        || member.contains(JavaModifier.PROTECTED) && !owner.getModifiers().contains(JavaModifier.FINAL);
  }

  private static boolean isInternal(String packageName) {
    return ("." + packageName + ".").contains(".internal.");
  }

  private static Optional<String> module(JavaClass c) {
    return c.getSource().map(s -> s.getUri().toString()).flatMap(uri -> {
      for (Pattern p : List.of(MODULE_DIR, MODULE_JAR)) {
        Matcher m = p.matcher(uri);
        if (m.find()) {
          return Optional.of(m.group(1));
        }
      }
      return Optional.empty();
    });
  }
}
