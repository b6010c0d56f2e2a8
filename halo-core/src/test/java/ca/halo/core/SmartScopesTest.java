package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmartScopesTest {
  @Test
  void parse_v2Scope_readsLevelTypeAndPermissions() {
    SmartScope s = SmartScope.parse("patient/Observation.rs");
    assertThat(s.isResourceScope()).isTrue();
    assertThat(s.level()).contains(SmartScope.Level.PATIENT);
    assertThat(s.resourceType()).contains("Observation");
    assertThat(s.interactions()).containsExactlyInAnyOrder(Interaction.READ, Interaction.SEARCH);
    assertThat(s.isV1()).isFalse();
  }

  @Test
  void parse_v1Scopes_mapToV2Permissions() {
    assertThat(SmartScope.parse("patient/*.read").interactions())
        .containsExactlyInAnyOrder(Interaction.READ, Interaction.SEARCH);
    assertThat(SmartScope.parse("user/Observation.write").interactions())
        .containsExactlyInAnyOrder(Interaction.CREATE, Interaction.UPDATE, Interaction.DELETE);
    assertThat(SmartScope.parse("system/*.*").interactions())
        .containsExactlyInAnyOrderElementsOf(EnumSet.allOf(Interaction.class));
    assertThat(SmartScope.parse("patient/*.read").isV1()).isTrue();
  }

  @Test
  void parse_queryParameters_kept() {
    SmartScope s = SmartScope.parse(
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory");
    assertThat(s.parameters()).containsKey("category");
    assertThat(s.parameters().get("category")).containsExactly(
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory");
    assertThat(s.permits(Interaction.READ, "Observation")).isFalse(); // fail closed
  }

  @Test
  void parse_badPermissions_throw() {
    assertThatThrownBy(() -> SmartScope.parse("patient/Observation.rx"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cruds");
    assertThatThrownBy(() -> SmartScope.parse("patient/Observation.sr"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SmartScope.parse("patient/Observation.rr"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SmartScope.parse("patient/Observation"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SmartScope.parse("patient/*.read?x=1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void parse_nonResourceScopes_recognised() {
    SmartScopes s = SmartScopes.parse("launch launch/patient launch/encounter openid fhirUser offline_access online_access");
    assertThat(s.asList()).containsExactly(
        SmartScope.LAUNCH, SmartScope.LAUNCH_PATIENT, SmartScope.LAUNCH_ENCOUNTER,
        SmartScope.OPENID, SmartScope.FHIR_USER, SmartScope.OFFLINE_ACCESS, SmartScope.ONLINE_ACCESS);
    assertThat(s.asList()).noneMatch(SmartScope::isResourceScope);
  }

  @Test
  void formatParse_roundTrips() {
    String wire = "launch openid patient/Observation.rs?category=laboratory user/*.cruds system/Patient.read";
    SmartScopes s = SmartScopes.parse(wire);
    assertThat(s.format()).isEqualTo(wire);
    assertThat(SmartScopes.parse(s.format())).isEqualTo(s);
  }

  @Test
  void permits_patientScope_onlyInLaunchPatientCompartment() {
    SmartScopes s = SmartScopes.parse("patient/Observation.rs");
    assertThat(s.permits(Interaction.READ, "Observation", "p1", "p1")).isTrue();
    assertThat(s.permits(Interaction.READ, "Observation", "p1", "p2")).isFalse();
    assertThat(s.permits(Interaction.CREATE, "Observation", "p1", "p1")).isFalse();
    assertThat(s.permits(Interaction.READ, "Condition", "p1", "p1")).isFalse();
    assertThat(s.access(Interaction.READ, "Observation")).isEqualTo(SmartScopes.Access.PATIENT_COMPARTMENT);
  }

  @Test
  void permits_userWildcard_anyPatient() {
    SmartScopes s = SmartScopes.parse("patient/Observation.r user/*.rs");
    assertThat(s.access(Interaction.READ, "Observation")).isEqualTo(SmartScopes.Access.ANY);
    assertThat(s.permits(Interaction.SEARCH, "Condition", "p1", "p2")).isTrue();
    assertThat(s.permits(Interaction.UPDATE, "Condition", "p1", "p1")).isFalse();
  }

  @Test
  void retainAll_narrowsToAllowed() {
    SmartScopes requested = SmartScopes.parse("launch openid patient/*.cruds user/*.rs");
    SmartScopes allowed = SmartScopes.parse("launch openid user/*.rs");
    assertThat(requested.retainAll(allowed).format()).isEqualTo("launch openid user/*.rs");
  }

  @Test
  void resource_buildsCanonicalOrder() {
    SmartScope s = SmartScope.resource(SmartScope.Level.USER, "Patient",
        EnumSet.of(Interaction.SEARCH, Interaction.READ));
    assertThat(s.value()).isEqualTo("user/Patient.rs");
  }

  @Test
  void of_dropsDuplicates() {
    assertThat(SmartScopes.of(List.of(SmartScope.OPENID, SmartScope.OPENID)).asList()).hasSize(1);
  }
  @Test
  void parse_contextScopes_areNotResourceScopesAndAnySuffixParses_item8() {
    for (String v : new String[] {"system/Context.admin", "user/Context.write", "patient/Context.read"}) {
      SmartScope s = SmartScope.parse(v);
      assertThat(s.isResourceScope()).as(v).isFalse();
      assertThat(s.isContextScope()).as(v).isTrue();
      assertThat(s.resourceType()).as(v).isEmpty();
      assertThat(s.value()).isEqualTo(v);
    }
    assertThat(SmartScope.parse("system/Context.admin").level()).contains(SmartScope.Level.SYSTEM);
    assertThat(SmartScope.parse("system/Patient.rs").isContextScope()).isFalse();
  }

  @Test
  void access_context_neverGrantedByAnyScope_item8() {
    SmartScopes s = SmartScopes.parse("user/*.cruds system/*.* patient/*.cruds user/Context.write system/Context.admin");
    for (Interaction i : Interaction.values()) {
      assertThat(s.access(i, "Context")).as(i.name()).isEqualTo(SmartScopes.Access.NONE);
      assertThat(s.permits(i, "Context", "p", "p")).isFalse();
    }
    assertThat(s.access(Interaction.READ, "Patient")).isEqualTo(SmartScopes.Access.ANY);
  }
}
