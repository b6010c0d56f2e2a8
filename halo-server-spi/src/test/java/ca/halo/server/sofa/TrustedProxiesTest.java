package ca.halo.server.sofa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.server.sofa.internal.TrustedProxies;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrustedProxiesTest {
  @Test
  void trusts_addressesAndBlocks_v4AndV6() throws Exception {
    TrustedProxies t = new TrustedProxies(List.of("10.0.0.0/8", "192.168.1.5", "fd00::/8", "172.16.0.0/12"));
    assertThat(t.trusts(InetAddress.getByName("10.1.2.3"))).isTrue();
    assertThat(t.trusts(InetAddress.getByName("11.0.0.1"))).isFalse();
    assertThat(t.trusts(InetAddress.getByName("192.168.1.5"))).isTrue();
    assertThat(t.trusts(InetAddress.getByName("192.168.1.6"))).isFalse();
    assertThat(t.trusts(InetAddress.getByName("172.31.255.1"))).isTrue();
    assertThat(t.trusts(InetAddress.getByName("172.32.0.1"))).isFalse();
    assertThat(t.trusts(InetAddress.getByName("fd12::1"))).isTrue();
    assertThat(t.trusts(InetAddress.getByName("fe80::1"))).isFalse();
    assertThat(t.trusts(InetAddress.getByName("127.0.0.1"))).isFalse();
  }

  @Test
  void check_refusesNamesAndBadPrefixes() {
    for (String bad : List.of("proxy.example.ca", "dead.beef", "10.0.0.0/33", "10.0.0.0/x", "", "::/129",
        "1.2.3")) {
      assertThatThrownBy(() -> TrustedProxies.check(List.of(bad))).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
