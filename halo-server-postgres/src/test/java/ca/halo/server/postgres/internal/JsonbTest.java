package ca.halo.server.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class JsonbTest {
  @Test
  void write_plainJson_unchanged() {
    String json = "{\"patient\":\"123\",\"fhirContext\":[{\"reference\":\"Encounter/1\"}]}";

    assertThat(Jsonb.write(json)).isEqualTo(json);
    assertThat(Jsonb.readText(json)).isEqualTo(json);
  }

  @Test
  void write_nulAndMarkCharacters_escapedAndRestored() {
    ObjectNode o = Jsonb.MAPPER.createObjectNode();
    o.put("state", "a\u0000b");
    o.put("odd", "\uE000looks-escaped");
    o.putArray("list").add("x\u0000").add("plain");
    o.putObject("inner").put("v", "\u0000");

    String stored = Jsonb.write(o);
    JsonNode back = Jsonb.read(stored);

    assertThat(stored).doesNotContain("\\u0000").doesNotContain("\u0000");
    assertThat(back).isEqualTo(o);
    assertThat(o.get("state").textValue()).as("the input is not changed").isEqualTo("a\u0000b");
  }

  @Test
  void write_escapedNulInForeignJson_storableAndRestoredAsText() {
    String foreign = "{\"intent\":\"a\\u0000b\",\"n\":1}";

    String stored = Jsonb.write(foreign);

    assertThat(stored).doesNotContain("\\u0000");
    assertThat(Jsonb.read(Jsonb.readText(stored)).get("intent").textValue()).isEqualTo("a\u0000b");
    assertThat(Jsonb.read(stored).get("n").intValue()).isEqualTo(1);
  }
}
