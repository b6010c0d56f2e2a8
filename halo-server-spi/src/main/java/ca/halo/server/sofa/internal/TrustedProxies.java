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
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;

/**
 * Takes the client's address from {@code X-Forwarded-For} only for requests whose peer is one of
 * the configured proxy addresses or blocks, and only its right-most entry that is not a proxy
 * itself; from anyone else forwarding headers are ignored, so a client cannot claim another
 * address (the per-address bounds count by it).
 */
public final class TrustedProxies implements HttpConfiguration.Customizer {
  private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
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

  /**
   * From a trusted proxy: the client is the right-most {@code X-Forwarded-For} address (over all
   * lines of that header, in order) that is not itself a trusted proxy. A browser can write what
   * it likes at the left of that header, never at the right, where each proxy appends the peer it
   * saw. {@code Forwarded} is ignored (a proxy that manages only {@code X-Forwarded-For} would
   * pass a browser's {@code Forwarded} through). Anything unreadable leaves the peer as it is.
   */
  @Override
  public Request customize(Request request, HttpFields.Mutable responseHeaders) {
    SocketAddress peer = request.getConnectionMetaData().getRemoteSocketAddress();
    if (!(peer instanceof InetSocketAddress) || ((InetSocketAddress) peer).getAddress() == null
        || !trusts(((InetSocketAddress) peer).getAddress())) {
      return request;
    }
    List<String> entries = new ArrayList<>();
    for (String line : request.getHeaders().getValuesList("X-Forwarded-For")) {
      for (String e : line.split(",")) {
        entries.add(e.trim());
      }
    }
    InetAddress client = null;
    for (int i = entries.size() - 1; i >= 0; i--) {
      InetAddress a = address(entries.get(i));
      if (a == null) {
        break; // unreadable: trust nothing further left
      }
      if (!trusts(a)) {
        client = a;
        break;
      }
    }
    if (client == null) {
      return request;
    }
    InetSocketAddress forwarded = new InetSocketAddress(client,
        ((InetSocketAddress) peer).getPort());
    ConnectionMetaData meta = new ConnectionMetaData.Wrapper(request.getConnectionMetaData()) {
      @Override
      public SocketAddress getRemoteSocketAddress() {
        return forwarded;
      }
    };
    return new Request.Wrapper(request) {
      @Override
      public ConnectionMetaData getConnectionMetaData() {
        return meta;
      }
    };
  }

  /** An address as an X-Forwarded-For entry writes it (with or without a port), or null. */
  private static InetAddress address(String entry) {
    String e = entry;
    if (e.startsWith("[")) {
      int close = e.indexOf(']');
      if (close < 0) {
        return null;
      }
      e = e.substring(1, close);
    } else if (e.indexOf(':') == e.lastIndexOf(':') && e.indexOf(':') > 0) {
      e = e.substring(0, e.indexOf(':')); // v4 with a port
    }
    try {
      return InetAddress.getByAddress(parse(e));
    } catch (IllegalArgumentException | UnknownHostException ex) {
      return null;
    }
  }
}
