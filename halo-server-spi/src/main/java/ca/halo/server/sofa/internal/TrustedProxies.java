package ca.halo.server.sofa.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.ForwardedRequestCustomizer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;

/**
 * Applies {@code Forwarded} and {@code X-Forwarded-*} headers (Jetty's
 * {@link ForwardedRequestCustomizer}) only to requests whose peer is one of the configured proxy
 * addresses or blocks; from anyone else they are ignored, so a client cannot claim another
 * address (the per-address bounds count by it) or scheme.
 */
public final class TrustedProxies implements HttpConfiguration.Customizer {
  private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
  private final ForwardedRequestCustomizer forwarded = new ForwardedRequestCustomizer();
  private final List<byte[]> networks = new ArrayList<>();
  private final List<Integer> prefixes = new ArrayList<>();

  public TrustedProxies(Collection<String> blocks) {
    check(blocks);
    for (String b : blocks) {
      int slash = b.indexOf('/');
      byte[] addr = parse(slash < 0 ? b : b.substring(0, slash));
      networks.add(addr);
      prefixes.add(slash < 0 ? addr.length * 8 : Integer.parseInt(b.substring(slash + 1)));
    }
  }

  /**
   * Checks that each entry is an IP address or a CIDR block (no host names: they would be
   * resolved).
   *
   * @throws IllegalArgumentException naming the entry that is not
   */
  public static void check(Collection<String> blocks) {
    for (String b : blocks) {
      if (b == null) {
        throw new IllegalArgumentException("a trusted proxy entry is null");
      }
      int slash = b.indexOf('/');
      String a = slash < 0 ? b : b.substring(0, slash);
      byte[] addr;
      try {
        addr = parse(a);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("trusted proxy '" + b + "' is not an IP address or"
            + " CIDR block");
      }
      if (slash >= 0) {
        int p;
        try {
          p = Integer.parseInt(b.substring(slash + 1));
        } catch (NumberFormatException e) {
          p = -1;
        }
        if (p < 0 || p > addr.length * 8) {
          throw new IllegalArgumentException("trusted proxy '" + b + "' has a bad prefix length");
        }
      }
    }
  }

  private static byte[] parse(String literal) {
    // literals only: InetAddress would resolve a host name
    if (!V4.matcher(literal).matches() && !V6.matcher(literal).matches()) {
      throw new IllegalArgumentException(literal);
    }
    try {
      return InetAddress.getByName(literal).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(literal, e);
    }
  }

  /** Whether {@code address} lies in one of the blocks. */
  public boolean trusts(InetAddress address) {
    byte[] a = address.getAddress();
    for (int i = 0; i < networks.size(); i++) {
      byte[] n = networks.get(i);
      if (n.length != a.length) {
        continue;
      }
      int bits = prefixes.get(i);
      boolean match = true;
      for (int k = 0; k < n.length && bits > 0 && match; k++, bits -= 8) {
        int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        match = (a[k] & mask) == (n[k] & mask);
      }
      if (match) {
        return true;
      }
    }
    return false;
  }

  @Override
  public Request customize(Request request, HttpFields.Mutable responseHeaders) {
    SocketAddress peer = request.getConnectionMetaData().getRemoteSocketAddress();
    if (peer instanceof InetSocketAddress && ((InetSocketAddress) peer).getAddress() != null
        && trusts(((InetSocketAddress) peer).getAddress())) {
      return forwarded.customize(request, responseHeaders);
    }
    return request;
  }
}
