package ca.halo.server.context;

import ca.halo.core.LaunchContext;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One launch context held by the SoFA: what {@code $set-context} stored under a launch id, who
 * set it, and the resources of its session.
 *
 * <p>Immutable and thread-safe; stores replace it whole. {@code launchId} is a bearer secret (it
 * lets an app start a launch): {@link #toString()} never prints it. {@code sessionId} is a
 * second, non-secret id that tags the session's resources and its tokens.
 *
 * <p>Spec: HALO CA:SoFA-1 and our decisions on binding and time-to-live.
 */
public final class StoredContext {
  private final String launchId;
  private final String sessionId;
  private final String ownerClientId;
  private final String ownerSubject;
  private final String appId;
  private final LaunchContext context;
  private final Instant createdAt;
  private final Instant expiresAt;
  private final Set<String> resources;
  private final long sizeBytes;

  private StoredContext(Builder b) {
    this.launchId = Objects.requireNonNull(b.launchId, "launchId");
    this.sessionId = Objects.requireNonNull(b.sessionId, "sessionId");
    this.ownerClientId = Objects.requireNonNull(b.ownerClientId, "ownerClientId");
    this.ownerSubject = b.ownerSubject;
    this.appId = b.appId;
    this.context = Objects.requireNonNull(b.context, "context");
    this.createdAt = Objects.requireNonNull(b.createdAt, "createdAt");
    this.expiresAt = Objects.requireNonNull(b.expiresAt, "expiresAt");
    this.resources = pack(b.resources);
    this.sizeBytes = b.sizeBytes;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The session's references in their order, in one array: a context lives for hours, and a
   * hash set cost it about 400 bytes more (issue 18). Membership is a scan, asked only by
   * clears and tests.
   */
  /**
   * The session's references, held in one string, one per line: a live context holds this set
   * for hours and reads it only when it ends, and six {@code Type/id} strings of their own cost
   * about 480 bytes where one string of them all costs about 250 (issue 18). A reference with a
   * line break in it (none that this SDK makes) keeps the set as an array.
   */
  private static Set<String> pack(Set<String> distinct) {
    StringBuilder b = new StringBuilder(distinct.size() * 34);
    int n = 0;
    for (String s : distinct) {
      if (s.indexOf('\n') >= 0) {
        return new ArraySet(distinct.toArray(new String[0]));
      }
      if (n++ > 0) {
        b.append('\n');
      }
      b.append(s);
    }
    return new PackedSet(b.toString(), distinct.size());
  }

  private static final class PackedSet extends java.util.AbstractSet<String> {
    private final String lines;
    private final int size;

    PackedSet(String lines, int size) {
      this.lines = lines;
      this.size = size;
    }

    @Override
    public java.util.Iterator<String> iterator() {
      return new java.util.Iterator<>() {
        private int at = size == 0 ? -1 : 0;

        @Override
        public boolean hasNext() {
          return at >= 0;
        }

        @Override
        public String next() {
          if (at < 0) {
            throw new java.util.NoSuchElementException();
          }
          int end = lines.indexOf('\n', at);
          String s = lines.substring(at, end < 0 ? lines.length() : end);
          at = end < 0 ? -1 : end + 1;
          return s;
        }
      };
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public boolean contains(Object o) {
      if (!(o instanceof String) || size == 0) {
        return false;
      }
      String s = (String) o;
      if (s.indexOf('\n') >= 0) {
        return false; // no member has one (those sets are kept as arrays), and lines must not join
      }
      for (int from = 0; from <= lines.length(); ) {
        int at = lines.indexOf(s, from);
        if (at < 0) {
          return false;
        }
        int end = at + s.length();
        if ((at == 0 || lines.charAt(at - 1) == '\n')
            && (end == lines.length() || lines.charAt(end) == '\n')) {
          return true;
        }
        from = at + 1;
      }
      return false;
    }
  }

  private static final class ArraySet extends java.util.AbstractSet<String> {
    private final String[] items;

    ArraySet(String[] distinct) {
      this.items = distinct;
    }

    @Override
    public java.util.Iterator<String> iterator() {
      return java.util.Arrays.asList(items).iterator();
    }

    @Override
    public int size() {
      return items.length;
    }

    @Override
    public boolean contains(Object o) {
      for (String s : items) {
        if (s.equals(o)) {
          return true;
        }
      }
      return false;
    }
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.launchId = launchId;
    b.sessionId = sessionId;
    b.ownerClientId = ownerClientId;
    b.ownerSubject = ownerSubject;
    b.appId = appId;
    b.context = context;
    b.createdAt = createdAt;
    b.expiresAt = expiresAt;
    b.resources.addAll(resources);
    b.sizeBytes = sizeBytes;
    return b;
  }

  /**
   * The same context with one more session resource ({@code Type/id}). Copies the set: a store
   * that records many app writes keeps them apart (see {@link InMemoryLaunchContextStore}).
   */
  public StoredContext withResource(String reference) {
    return toBuilder().addResource(reference).build();
  }

  /** The same context with more session resources, in one copy. */
  public StoredContext withResources(java.util.Collection<String> references) {
    Builder b = toBuilder();
    references.forEach(b::addResource);
    return b.build();
  }

  public String launchId() {
    return launchId;
  }

  public String sessionId() {
    return sessionId;
  }

  public String ownerClientId() {
    return ownerClientId;
  }

  public Optional<String> ownerSubject() {
    return Optional.ofNullable(ownerSubject);
  }

  /** The binding key of the caller that set the context: client id and subject. */
  public String ownerKey() {
    return ownerClientId + "|" + (ownerSubject == null ? "" : ownerSubject);
  }

  /** The App Catalog id of the only app that may use this launch, when the PoC named one. */
  public Optional<String> appId() {
    return Optional.ofNullable(appId);
  }

  public LaunchContext context() {
    return context;
  }

  public Instant createdAt() {
    return createdAt;
  }

  public Instant expiresAt() {
    return expiresAt;
  }

  /** Relative references ({@code Patient/123}) of every resource created in this session. */
  public Set<String> resources() {
    return resources;
  }

  /** What the context's upload weighed (request bytes), counted against its owner's budget. */
  public long sizeBytes() {
    return sizeBytes;
  }

  public boolean isExpired(Instant now) {
    return !now.isBefore(expiresAt);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof StoredContext)) {
      return false;
    }
    StoredContext c = (StoredContext) o;
    return launchId.equals(c.launchId) && sessionId.equals(c.sessionId)
        && ownerKey().equals(c.ownerKey()) && Objects.equals(appId, c.appId)
        && context.equals(c.context) && createdAt.equals(c.createdAt)
        && expiresAt.equals(c.expiresAt) && resources.equals(c.resources) && sizeBytes == c.sizeBytes;
  }

  @Override
  public int hashCode() {
    return Objects.hash(launchId, sessionId, ownerKey(), appId, createdAt, expiresAt);
  }

  @Override
  public String toString() {
    return "StoredContext{session=" + sessionId + ", owner=" + ownerClientId + ", appId=" + appId
        + ", resources=" + resources.size() + ", expiresAt=" + expiresAt + "}";
  }

  /** Builds a {@link StoredContext}. */
  public static final class Builder {
    private String launchId;
    private String sessionId;
    private String ownerClientId;
    private String ownerSubject;
    private String appId;
    private LaunchContext context = LaunchContext.empty();
    private Instant createdAt;
    private Instant expiresAt;
    private final Set<String> resources = new LinkedHashSet<>();
    private long sizeBytes;

    private Builder() {}

    public Builder launchId(String v) { this.launchId = v; return this; }
    public Builder sessionId(String v) { this.sessionId = v; return this; }
    public Builder ownerClientId(String v) { this.ownerClientId = v; return this; }
    public Builder ownerSubject(String v) { this.ownerSubject = v; return this; }
    public Builder appId(String v) { this.appId = v; return this; }
    public Builder context(LaunchContext v) { this.context = v; return this; }
    public Builder createdAt(Instant v) { this.createdAt = v; return this; }
    public Builder expiresAt(Instant v) { this.expiresAt = v; return this; }
    public Builder addResource(String ref) { this.resources.add(Objects.requireNonNull(ref)); return this; }
    public Builder sizeBytes(long v) { this.sizeBytes = v; return this; }

    public StoredContext build() {
      return new StoredContext(this);
    }
  }
}
