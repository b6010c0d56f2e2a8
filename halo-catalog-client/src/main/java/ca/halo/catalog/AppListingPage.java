package ca.halo.catalog;

import ca.halo.core.catalog.AppListing;
import java.util.List;
import java.util.Objects;

/** One page of {@link AppCatalogClient#list(AppQuery)}. Immutable and thread-safe. */
public final class AppListingPage {
  private final List<AppListing> apps;
  private final int total;
  private final int page;
  private final boolean hasNext;

  AppListingPage(List<AppListing> apps, int total, int page, boolean hasNext) {
    this.apps = List.copyOf(apps);
    this.total = total;
    this.page = page;
    this.hasNext = hasNext;
  }

  public List<AppListing> apps() { return apps; }
  /** Matches across all pages. */
  public int total() { return total; }
  public int page() { return page; }
  public boolean hasNext() { return hasNext; }

  @Override
  public boolean equals(Object o) {
    return o instanceof AppListingPage && ((AppListingPage) o).apps.equals(apps)
        && ((AppListingPage) o).total == total && ((AppListingPage) o).page == page;
  }

  @Override
  public int hashCode() {
    return Objects.hash(apps, total, page);
  }

  @Override
  public String toString() {
    return "AppListingPage{page=" + page + ", apps=" + apps.size() + ", total=" + total + "}";
  }
}
