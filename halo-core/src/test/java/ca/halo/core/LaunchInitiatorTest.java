package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class LaunchInitiatorTest {
  private static final URI ISS = URI.create("https://sofa.example.ca/fhir");

  @Test
  void launchUrl_plainLaunchUrl_appendsEncodedParams() {
    URI u = LaunchInitiator.launchUrl(URI.create("https://app.example/launch"), ISS, "abc+/=");
    assertThat(u.toString()).isEqualTo(
        "https://app.example/launch?iss=https%3A%2F%2Fsofa.example.ca%2Ffhir&launch=abc%2B%2F%3D");
  }

  @Test
  void launchUrl_existingQueryAndFragment_preserved() {
    URI u = LaunchInitiator.launchUrl(URI.create("https://app.example/launch?v=2&mode=x#top"), ISS, "L1");
    assertThat(u.toString()).isEqualTo(
        "https://app.example/launch?v=2&mode=x&iss=https%3A%2F%2Fsofa.example.ca%2Ffhir&launch=L1#top");
  }

  @Test
  void launchUrl_relativeOrBlank_rejected() {
    assertThatThrownBy(() -> LaunchInitiator.launchUrl(URI.create("/launch"), ISS, "L"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LaunchInitiator.launchUrl(URI.create("https://a/launch"), ISS, " "))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
