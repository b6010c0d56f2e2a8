package ca.halo.catalog;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Filters and paging for {@link AppCatalogClient#list(AppQuery)}: free text, category, launch
 * type, a SMART scope the app requests, status, page size and page.
 *
 * <pre>{@code
 * AppQuery q = AppQuery.builder().text("growth").launchType("ehr").pageSize(10).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class AppQuery {
  private final Map<String, String> params;

  private AppQuery(Map<String, String> params) {
    this.params = Map.copyOf(params);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Active apps, first page. */
  public static AppQuery all() {
    return builder().build();
  }

  Map<String, String> params() {
    return params;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AppQuery && ((AppQuery) o).params.equals(params);
  }

  @Override
  public int hashCode() {
    return params.hashCode();
  }

  @Override
  public String toString() {
    return "AppQuery" + params;
  }

  /** Builds an {@link AppQuery}; {@link #build()} checks the values. */
  public static final class Builder {
    private final Map<String, String> p = new LinkedHashMap<>();

    private Builder() {}

    public Builder text(String v) { p.put("q", Objects.requireNonNull(v)); return this; }
    public Builder category(String v) { p.put("category", Objects.requireNonNull(v)); return this; }
    /** {@code ehr} or {@code standalone}. */
    public Builder launchType(String v) { p.put("launchType", Objects.requireNonNull(v)); return this; }
    /** Apps that request this exact scope. */
    public Builder fhirScope(String v) { p.put("fhirScope", Objects.requireNonNull(v)); return this; }
    /** {@code active} (the default), {@code suspended}, {@code retired} or {@code all}. */
    public Builder status(String v) { p.put("status", Objects.requireNonNull(v)); return this; }
    public Builder pageSize(int v) { p.put("_count", Integer.toString(v)); return this; }
    public Builder page(int v) { p.put("page", Integer.toString(v)); return this; }

    public AppQuery build() {
      String lt = p.get("launchType");
      if (lt != null && !lt.equals("ehr") && !lt.equals("standalone")) {
        throw new IllegalStateException("launchType must be ehr or standalone");
      }
      if (p.containsKey("_count") && Integer.parseInt(p.get("_count")) < 1) {
        throw new IllegalStateException("pageSize must be at least 1");
      }
      if (p.containsKey("page") && Integer.parseInt(p.get("page")) < 1) {
        throw new IllegalStateException("page must be at least 1");
      }
      return new AppQuery(p);
    }
  }
}
