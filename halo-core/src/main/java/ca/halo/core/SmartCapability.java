package ca.halo.core;

import java.util.Objects;

/**
 * A SMART capability advertised in {@code .well-known/smart-configuration}. An open value class:
 * the constants name those of SMART App Launch 2.1.0 (section 2.0.4); {@link #of(String)} accepts
 * any other.
 */
public final class SmartCapability {
  public static final SmartCapability LAUNCH_EHR = new SmartCapability("launch-ehr");
  public static final SmartCapability LAUNCH_STANDALONE = new SmartCapability("launch-standalone");
  public static final SmartCapability AUTHORIZE_POST = new SmartCapability("authorize-post");
  public static final SmartCapability CLIENT_PUBLIC = new SmartCapability("client-public");
  public static final SmartCapability CLIENT_CONFIDENTIAL_SYMMETRIC =
      new SmartCapability("client-confidential-symmetric");
  public static final SmartCapability CLIENT_CONFIDENTIAL_ASYMMETRIC =
      new SmartCapability("client-confidential-asymmetric");
  public static final SmartCapability SSO_OPENID_CONNECT = new SmartCapability("sso-openid-connect");
  public static final SmartCapability CONTEXT_PASSTHROUGH_BANNER =
      new SmartCapability("context-passthrough-banner");
  public static final SmartCapability CONTEXT_PASSTHROUGH_STYLE =
      new SmartCapability("context-passthrough-style");
  public static final SmartCapability CONTEXT_EHR_PATIENT = new SmartCapability("context-ehr-patient");
  public static final SmartCapability CONTEXT_EHR_ENCOUNTER =
      new SmartCapability("context-ehr-encounter");
  public static final SmartCapability CONTEXT_STANDALONE_PATIENT =
      new SmartCapability("context-standalone-patient");
  public static final SmartCapability PERMISSION_OFFLINE = new SmartCapability("permission-offline");
  public static final SmartCapability PERMISSION_ONLINE = new SmartCapability("permission-online");
  public static final SmartCapability PERMISSION_PATIENT = new SmartCapability("permission-patient");
  public static final SmartCapability PERMISSION_USER = new SmartCapability("permission-user");
  public static final SmartCapability PERMISSION_V1 = new SmartCapability("permission-v1");
  public static final SmartCapability PERMISSION_V2 = new SmartCapability("permission-v2");

  private final String value;

  private SmartCapability(String value) {
    this.value = value;
  }

  public static SmartCapability of(String value) {
    Objects.requireNonNull(value, "value");
    if (value.isBlank()) {
      throw new IllegalArgumentException("capability must not be blank");
    }
    return new SmartCapability(value);
  }

  public String value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SmartCapability && ((SmartCapability) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return value;
  }
}
