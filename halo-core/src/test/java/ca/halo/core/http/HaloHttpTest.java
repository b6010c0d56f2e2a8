package ca.halo.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloTransportException;
import ca.halo.core.internal.http.SecureTransportInterceptor;
import java.net.URI;
import okhttp3.Request;
import org.junit.jupiter.api.Test;

class HaloHttpTest {
  @Test
  void checkTransport_plainHttpToRemoteHost_refused() {
    try (HaloHttp http = HaloHttp.defaults()) {
      assertThatThrownBy(() -> http.checkTransport(URI.create("http://fhir.example.org/r4")))
          .isInstanceOf(HaloTransportException.class)
          .hasMessageContaining("HTTPS");
    }
  }

  @Test
  void checkTransport_loopbackAndHttps_allowed() {
    try (HaloHttp http = HaloHttp.defaults()) {
      http.checkTransport(URI.create("http://localhost:8080/fhir"));
      http.checkTransport(URI.create("http://127.0.0.1:8080/fhir"));
      http.checkTransport(URI.create("http://[::1]:8080/fhir"));
      http.checkTransport(URI.create("https://fhir.example.org/r4"));
    }
  }

  @Test
  void isLoopback_lookalikeHosts_false() {
    assertThat(SecureTransportInterceptor.isLoopback("127.0.0.1.example.org")).isFalse();
    assertThat(SecureTransportInterceptor.isLoopback("localhost.example.org")).isFalse();
    assertThat(SecureTransportInterceptor.isLoopback("10.0.0.1")).isFalse();
  }

  @Test
  void interceptor_plainHttpToRemoteHost_failsBeforeConnecting() {
    try (HaloHttp http = HaloHttp.defaults()) {
      Request r = new Request.Builder().url("http://fhir.example.org/r4/metadata").build();
      assertThatThrownBy(() -> http.okHttp().newCall(r).execute())
          .isInstanceOf(SecureTransportInterceptor.InsecureTransportException.class);
    }
  }

  @Test
  void builder_zeroTimeout_rejected() {
    assertThatThrownBy(() -> HaloHttp.builder().callTimeout(java.time.Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
