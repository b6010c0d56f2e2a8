package ca.halo.core.subscription;

/** What a notification carries of its focus resources (backport-payload-content). */
public enum PayloadContent {
  EMPTY("empty"),
  ID_ONLY("id-only"),
  FULL_RESOURCE("full-resource");

  private final String code;

  PayloadContent(String code) {
    this.code = code;
  }

  public String code() {
    return code;
  }

  /** @throws IllegalArgumentException for an unknown code */
  public static PayloadContent fromCode(String code) {
    for (PayloadContent p : values()) {
      if (p.code.equals(code)) {
        return p;
      }
    }
    throw new IllegalArgumentException("payload content must be empty, id-only or full-resource,"
        + " not '" + code + "'");
  }
}
