package ca.halo.server.subscription;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Where the subscription engine may send rest-hook notifications, and which subscriber-chosen
 * headers it may send with them: the guard against server-side request forgery through
 * {@code Subscription.channel.endpoint}.
 *
 * <p>The engine asks {@link #permits(URI)} when a subscription is created or updated, and
 * {@link #resolve(String)} at every connection it opens (so a host name that later resolves to a
 * forbidden address, DNS rebinding, is refused at delivery too). It never follows redirects and
 * uses no proxy. Every refusal is answered with the same vague error, so the policy is no oracle.
 *
 * <p>The default ({@link #publicHttpsOnly()}): {@code https} only, no user info in the URL, and
 * every address the host resolves to must be a public unicast address: loopback, link-local
 * (169.254.0.0/16, fe80::/10, cloud metadata services), private (10/8, 172.16/12, 192.168/16,
 * 100.64/10, fc00::/7), multicast, broadcast, reserved and unspecified addresses are refused,
 * IPv4 addresses embedded in IPv6 (mapped, compatible, 6to4, NAT64) included. Operators relax it
 * with the builder (the sandbox allows loopback):
 *
 * <pre>{@code
 * EndpointPolicy p = EndpointPolicy.builder().allowLoopback(true).unsafeAllowPlainHttp(true).build();
 * }</pre>
 *
 * <p>Implementations are thread-safe. Headers, by the default: a subscriber may set
 * {@code Authorization} and application headers ({@code X-...}), except those proxies and servers
 * act on ({@code X-Forwarded-*}, {@code X-Real-IP}, {@code X-Original-*}, {@code X-HTTP-Method-*},
 * {@code X-Host}, ...); every other header ({@code Host}, {@code Cookie}, hop-by-hop,
 * {@code Content-*}, {@code Forwarded}, {@code Via}, ...) is refused.
 */
public interface EndpointPolicy {

  /** Whether a rest-hook endpoint may be used at all (scheme, host, its addresses now). */
  boolean permits(URI endpoint);

  /**
   * The addresses a delivery to {@code host} may connect to now.
   *
   * @throws UnknownHostException if the host does not resolve, or resolves to an address the
   *     policy refuses
   */
  List<InetAddress> resolve(String host) throws UnknownHostException;

  /** Whether a subscriber may have the header {@code name} sent with its notifications. */
  boolean permitsHeader(String name);

  /** The safe default: https to public addresses only. */
  static EndpointPolicy publicHttpsOnly() {
    return builder().build();
  }

  static Builder builder() {
    return new Builder();
  }

  /**
   * Whether {@code a} is a public unicast address: not loopback, link-local, private, shared
   * (100.64/10), multicast, broadcast, reserved, documentation or unspecified, looking through
   * IPv6 forms that embed an IPv4 address.
   */
  static boolean isPublic(InetAddress a) {
    return AddressClass.of(a) == AddressClass.PUBLIC;
  }

  /** How the default policy classifies an address. */
  enum AddressClass {
    PUBLIC, LOOPBACK, PRIVATE, FORBIDDEN;

    static AddressClass of(InetAddress a) {
      byte[] b = a.getAddress();
      if (a instanceof Inet6Address) {
        byte[] v4 = embeddedIpv4(b);
        if (v4 != null) {
          try {
            return of(InetAddress.getByAddress(v4));
          } catch (UnknownHostException e) {
            return FORBIDDEN;
          }
        }
        if (a.isLoopbackAddress()) {
          return LOOPBACK;
        }
        int first = b[0] & 0xff;
        boolean teredo = first == 0x20 && (b[1] & 0xff) == 0x01 && b[2] == 0 && b[3] == 0;
        boolean discard = first == 0x01 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0
            && b[5] == 0 && b[6] == 0 && b[7] == 0;
        if (a.isAnyLocalAddress() || a.isLinkLocalAddress() || a.isMulticastAddress()
            || a.isSiteLocalAddress() || first == 0 || teredo || discard
            || (first == 0x20 && (b[1] & 0xff) == 0x01 && (b[2] & 0xff) == 0x0d
                && (b[3] & 0xff) == 0xb8)) {
          // unspecified, fe80::/10, ff00::/8, fec0::/10, ::/8, Teredo 2001::/32, 100::/64,
          // documentation 2001:db8::/32
          return FORBIDDEN;
        }
        if ((first & 0xfe) == 0xfc) {
          return PRIVATE; // fc00::/7 unique local
        }
        return PUBLIC;
      }
      int o0 = b[0] & 0xff;
      int o1 = b[1] & 0xff;
      if (o0 == 127) {
        return LOOPBACK;
      }
      if (o0 == 10 || (o0 == 172 && o1 >= 16 && o1 <= 31) || (o0 == 192 && o1 == 168)
          || (o0 == 100 && o1 >= 64 && o1 <= 127)) {
        return PRIVATE;
      }
      if (o0 == 0 || (o0 == 169 && o1 == 254) || o0 >= 224
          || (o0 == 192 && o1 == 0 && ((b[2] & 0xff) == 0 || (b[2] & 0xff) == 2))
          || (o0 == 198 && (o1 == 18 || o1 == 19)) || (o0 == 198 && o1 == 51 && (b[2] & 0xff) == 100)
          || (o0 == 203 && o1 == 0 && (b[2] & 0xff) == 113)
          || (o0 == 192 && o1 == 88 && (b[2] & 0xff) == 99)) {
        return FORBIDDEN; // this network, link-local, multicast/reserved/broadcast, special use
      }
      return PUBLIC;
    }

    /** The IPv4 address inside ::ffff:a.b.c.d, ::a.b.c.d, 2002:abcd:... (6to4) or 64:ff9b::/96. */
    private static byte[] embeddedIpv4(byte[] b) {
      boolean zero80 = true;
      for (int i = 0; i < 10; i++) {
        zero80 &= b[i] == 0;
      }
      if (zero80 && ((b[10] == (byte) 0xff && b[11] == (byte) 0xff)
          || (b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && (b[15] & 0xfe) == 0)))) {
        return new byte[] {b[12], b[13], b[14], b[15]};
      }
      if (b[0] == 0x20 && b[1] == 0x02) {
        return new byte[] {b[2], b[3], b[4], b[5]};
      }
      if (b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b) {
        boolean mid = true;
        for (int i = 4; i < 12; i++) {
          mid &= b[i] == 0;
        }
        if (mid) {
          return new byte[] {b[12], b[13], b[14], b[15]};
        }
      }
      return null;
    }
  }

  /** Builds the default policy, relaxed where the operator says so. */
  final class Builder {
    private static final Set<String> FORBIDDEN_X_HEADERS = Set.of("x-real-ip", "x-client-ip",
        "x-cluster-client-ip", "x-host", "x-rewrite-url", "x-method-override", "x-remote-addr",
        "x-remote-ip", "x-originating-ip", "x-true-client-ip", "x-envoy-original-path");

    private boolean allowLoopback;
    private boolean allowPrivate;
    private boolean allowPlainHttp;
    private Resolver resolver = host -> List.of(InetAddress.getAllByName(host));

    /** A DNS look-up, replaceable for tests. */
    @FunctionalInterface
    public interface Resolver {
      List<InetAddress> lookup(String host) throws UnknownHostException;
    }

    private Builder() {}

    /** Allows loopback addresses (127/8, ::1): for a sandbox or a receiver on the same host. */
    public Builder allowLoopback(boolean v) { this.allowLoopback = v; return this; }
    /** Allows private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
    public Builder allowPrivateNetworks(boolean v) { this.allowPrivate = v; return this; }
    /** Allows plain {@code http} endpoints. Unsafe: notifications then travel in clear text. */
    public Builder unsafeAllowPlainHttp(boolean v) { this.allowPlainHttp = v; return this; }
    public Builder resolver(Resolver v) { this.resolver = Objects.requireNonNull(v); return this; }

    public EndpointPolicy build() {
      boolean loopback = allowLoopback;
      boolean priv = allowPrivate;
      boolean plain = allowPlainHttp;
      Resolver dns = resolver;
      return new EndpointPolicy() {
        @Override
        public boolean permits(URI endpoint) {
          if (endpoint == null || !endpoint.isAbsolute() || endpoint.getRawUserInfo() != null
              || endpoint.getHost() == null || endpoint.getRawFragment() != null) {
            return false;
          }
          String scheme = endpoint.getScheme().toLowerCase(Locale.ROOT);
          if (!(scheme.equals("https") || (plain && scheme.equals("http")))) {
            return false;
          }
          try {
            resolve(endpoint.getHost());
            return true;
          } catch (UnknownHostException e) {
            return false;
          }
        }

        @Override
        public List<InetAddress> resolve(String host) throws UnknownHostException {
          String h = host.startsWith("[") && host.endsWith("]")
              ? host.substring(1, host.length() - 1) : host;
          List<InetAddress> all = dns.lookup(h);
          if (all == null || all.isEmpty()) {
            throw new UnknownHostException("not permitted");
          }
          List<InetAddress> out = new ArrayList<>(all.size());
          for (InetAddress a : all) {
            AddressClass c = AddressClass.of(a);
            boolean ok = c == AddressClass.PUBLIC || (c == AddressClass.LOOPBACK && loopback)
                || (c == AddressClass.PRIVATE && priv);
            if (!ok) {
              // one forbidden address refuses the host: an attacker's name resolving to a
              // public and a private address must not reach the private one
              throw new UnknownHostException("not permitted");
            }
            out.add(a);
          }
          return out;
        }

        @Override
        public boolean permitsHeader(String name) {
          if (name == null || name.isEmpty() || name.length() > 64
              || !name.chars().allMatch(Builder::isTokenChar)) {
            return false;
          }
          String n = name.toLowerCase(Locale.ROOT);
          if (n.equals("authorization")) {
            return true;
          }
          // otherwise only application headers, and none that proxies or servers act on
          return n.startsWith("x-") && !n.startsWith("x-forwarded") && !n.startsWith("x-original")
              && !n.startsWith("x-http-method") && !n.startsWith("x-proxy")
              && !FORBIDDEN_X_HEADERS.contains(n);
        }

        @Override
        public String toString() {
          return "EndpointPolicy{https" + (plain ? "+http" : "") + ", public"
              + (loopback ? "+loopback" : "") + (priv ? "+private" : "") + "}";
        }
      };
    }

    private static boolean isTokenChar(int c) {
      return c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
    }
  }
}
