package ca.halo.server.subscription;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The default {@link SubscriptionStore}: one node's memory. Every method holds one lock, which is
 * what makes it atomic; the work under it is a map look-up, so it is short. Contents are lost on
 * restart (subscribers subscribe again); several nodes need a shared store.
 */
public final class InMemorySubscriptionStore implements SubscriptionStore {
  private static final class Entry {
    SubscriptionRecord record;
    final Deque<SubscriptionEvent> events = new ArrayDeque<>();
    final Deque<String> tokens = new ArrayDeque<>();
    String leaseOwner;
    Instant leaseUntil;

    Entry(SubscriptionRecord record) {
      this.record = record;
    }
  }

  private record Token(String subscriptionId, Instant expires) {}

  private final Map<String, Entry> byId = new LinkedHashMap<>();
  private final Map<String, Token> tokens = new HashMap<>();

  @Override
  public synchronized void create(SubscriptionRecord r, int maxTotal, int maxPerQuota, int maxPerOwner) {
    if (byId.size() >= maxTotal) {
      throw new SubscriptionException(503, "Subscription",
          "this server holds its maximum of " + maxTotal + " subscriptions; retry later");
    }
    long quota = byId.values().stream().filter(e -> e.record.quotaKey().equals(r.quotaKey())).count();
    if (quota >= maxPerQuota) {
      throw new SubscriptionException(429, "Subscription", "this user (or client) already holds "
          + maxPerQuota + " subscriptions, the most it may; delete one first");
    }
    if (r.subscriber().sessionId().isPresent() && byId.values().stream()
        .filter(e -> e.record.ownerKey().equals(r.ownerKey())).count() >= maxPerOwner) {
      throw new SubscriptionException(429, "Subscription", "this launch already holds "
          + maxPerOwner + " subscriptions, the most one launch may");
    }
    if (byId.containsKey(r.id())) {
      throw new IllegalStateException("subscription id already in use");
    }
    byId.put(r.id(), new Entry(r));
  }

  @Override
  public synchronized Optional<SubscriptionRecord> find(String id) {
    Entry e = id == null ? null : byId.get(id);
    return e == null ? Optional.empty() : Optional.of(e.record);
  }

  @Override
  public synchronized List<SubscriptionRecord> findByOwner(String ownerKey) {
    List<SubscriptionRecord> out = new ArrayList<>();
    for (Entry e : byId.values()) {
      if (e.record.ownerKey().equals(ownerKey)) {
        out.add(e.record);
      }
    }
    return out;
  }

  @Override
  public synchronized List<SubscriptionRecord> matching(String type, String patient, String launch) {
    List<SubscriptionRecord> out = new ArrayList<>();
    for (Entry e : byId.values()) {
      SubscriptionRecord r = e.record;
      if (r.status().equals("off") || r.lapsed()) {
        continue;
      }
      if (r.filterType().map(t -> t.equals(type)).orElse(true)
          && r.filterPatient().map(p -> p.equals(patient)).orElse(true)
          && r.filterLaunch().map(l -> l.equals(launch)).orElse(true)) {
        out.add(r);
      }
    }
    return out;
  }

  @Override
  public synchronized Optional<SubscriptionRecord> update(String id, UnaryOperator<SubscriptionRecord> change) {
    Entry e = byId.get(id);
    if (e == null) {
      return Optional.empty();
    }
    SubscriptionRecord next = change.apply(e.record);
    e.record = next.toBuilder().lastEvent(e.record.lastEvent()).build();
    return Optional.of(e.record);
  }

  @Override
  public synchronized boolean delete(String id) {
    Entry e = byId.remove(id);
    if (e == null) {
      return false;
    }
    e.tokens.forEach(tokens::remove);
    return true;
  }

  @Override
  public synchronized List<String> deleteBySubscriberSession(String sessionId) {
    List<String> gone = new ArrayList<>();
    for (Entry e : List.copyOf(byId.values())) {
      if (e.record.subscriber().sessionId().map(sessionId::equals).orElse(false)) {
        delete(e.record.id());
        gone.add(e.record.id());
      }
    }
    return gone;
  }

  @Override
  public synchronized long appendEvent(String id, Instant timestamp, String focus, int maxEvents,
      Instant keepAfter) {
    Entry e = byId.get(id);
    if (e == null || e.record.status().equals("off") || e.record.lapsed()) {
      return 0;
    }
    long n = e.record.lastEvent() + 1;
    e.record = e.record.toBuilder().lastEvent(n).build();
    e.events.addLast(new SubscriptionEvent(n, timestamp, focus));
    while (e.events.size() > maxEvents
        || (!e.events.isEmpty() && e.events.peekFirst().timestamp().isBefore(keepAfter))) {
      e.events.removeFirst();
    }
    return n;
  }

  @Override
  public synchronized List<SubscriptionEvent> events(String id, long since, long until, int max) {
    Entry e = byId.get(id);
    List<SubscriptionEvent> out = new ArrayList<>();
    if (e != null) {
      for (SubscriptionEvent ev : e.events) {
        if (ev.number() >= since && ev.number() <= until) {
          out.add(ev);
          if (out.size() >= max) {
            break;
          }
        }
      }
    }
    return out;
  }

  @Override
  public synchronized List<SubscriptionRecord> claimDue(String node, Instant now, Duration lease,
      Duration probeEvery, Collection<String> websockets, int max) {
    List<Entry> due = new ArrayList<>();
    for (Entry e : byId.values()) {
      boolean free = e.leaseOwner == null || !now.isBefore(e.leaseUntil);
      boolean mine = e.record.restHook() || websockets.contains(e.record.id());
      if (free && mine && e.record.due(now, probeEvery)) {
        due.add(e);
      }
    }
    due.sort(Comparator.comparing(e -> e.record.createdAt()));
    List<SubscriptionRecord> out = new ArrayList<>();
    for (Entry e : due) {
      if (out.size() >= max) {
        break;
      }
      e.leaseOwner = node;
      e.leaseUntil = now.plus(lease);
      out.add(e.record);
    }
    return out;
  }

  @Override
  public synchronized boolean claim(String id, String node, Instant now, Duration lease) {
    Entry e = byId.get(id);
    if (e == null) {
      return false;
    }
    if (e.leaseOwner != null && !e.leaseOwner.equals(node) && now.isBefore(e.leaseUntil)) {
      return false;
    }
    e.leaseOwner = node;
    e.leaseUntil = now.plus(lease);
    return true;
  }

  @Override
  public synchronized int renewLeases(String node, Instant until) {
    int n = 0;
    for (Entry e : byId.values()) {
      if (node.equals(e.leaseOwner)) {
        e.leaseUntil = until;
        n++;
      }
    }
    return n;
  }

  @Override
  public synchronized void release(String id, String node) {
    Entry e = byId.get(id);
    if (e != null && node.equals(e.leaseOwner)) {
      e.leaseOwner = null;
      e.leaseUntil = null;
    }
  }

  @Override
  public synchronized void putBindingToken(String token, String subscriptionId, Instant expires,
      int maxPerSubscription) {
    Entry e = byId.get(subscriptionId);
    if (e == null) {
      throw new SubscriptionException(404, "Subscription", "Subscription/" + subscriptionId
          + " is not known");
    }
    while (e.tokens.size() >= maxPerSubscription) {
      tokens.remove(e.tokens.removeFirst());
    }
    e.tokens.addLast(token);
    tokens.put(token, new Token(subscriptionId, expires));
  }

  @Override
  public synchronized Optional<String> takeBindingToken(String token, Instant now) {
    Token t = tokens.remove(token);
    if (t == null) {
      return Optional.empty();
    }
    Entry e = byId.get(t.subscriptionId());
    if (e != null) {
      e.tokens.remove(token);
    }
    return e == null || !now.isBefore(t.expires()) ? Optional.empty() : Optional.of(t.subscriptionId());
  }

  @Override
  public synchronized int size() {
    return byId.size();
  }

  @Override
  public synchronized Map<String, Integer> countByStatus() {
    Map<String, Integer> out = new java.util.TreeMap<>();
    for (Entry e : byId.values()) {
      out.merge(e.record.status(), 1, Integer::sum);
    }
    return out;
  }

  @Override
  public synchronized int purge(Instant now, Instant keepAfter) {
    int n = 0;
    for (Map.Entry<String, Token> t : List.copyOf(tokens.entrySet())) {
      if (!now.isBefore(t.getValue().expires())) {
        tokens.remove(t.getKey());
        Entry e = byId.get(t.getValue().subscriptionId());
        if (e != null) {
          e.tokens.remove(t.getKey());
        }
        n++;
      }
    }
    for (Entry e : byId.values()) {
      while (!e.events.isEmpty() && e.events.peekFirst().timestamp().isBefore(keepAfter)) {
        e.events.removeFirst();
        n++;
      }
    }
    return n;
  }
}
