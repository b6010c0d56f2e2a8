package ca.halo.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.subscription.PayloadContent;
import org.junit.jupiter.api.Test;

class EventsRequestTest {

  @Test
  void build_nothingButId_allOptionalsEmpty() {
    EventsRequest r = EventsRequest.builder("abc").build();
    assertThat(r.subscriptionId()).isEqualTo("abc");
    assertThat(r.since()).isEmpty();
    assertThat(r.until()).isEmpty();
    assertThat(r.content()).isEmpty();
  }

  @Test
  void build_allSet_keepsThemAndEqualsByValue() {
    EventsRequest r = EventsRequest.builder("abc").since(2).until(3)
        .content(PayloadContent.ID_ONLY).build();
    assertThat(r.since()).hasValue(2);
    assertThat(r.until()).hasValue(3);
    assertThat(r.content()).contains(PayloadContent.ID_ONLY);
    assertThat(r).isEqualTo(EventsRequest.builder("abc").since(2).until(3)
        .content(PayloadContent.ID_ONLY).build()).hasSameHashCodeAs(EventsRequest.builder("abc")
        .since(2).until(3).content(PayloadContent.ID_ONLY).build());
  }

  @Test
  void build_sinceAfterUntil_illegalState() {
    assertThatThrownBy(() -> EventsRequest.builder("abc").since(4).until(3).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("after");
  }

  @Test
  void build_numberBelowOne_illegalState() {
    assertThatThrownBy(() -> EventsRequest.builder("abc").since(0).build())
        .isInstanceOf(IllegalStateException.class);
  }
}
