package ca.halo.server.internal;

import ca.uhn.fhir.parser.IJsonLikeParser;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.json.BaseJsonLikeWriter;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * HAPI's JSON encoder, writing compact JSON straight to UTF-8 bytes through a plain Jackson
 * generator.
 *
 * <p>HAPI's own writer hands every value to an {@code ObjectMapper} ({@code writeObjectField}: a
 * serializer lookup per string) and writes characters that an {@code OutputStreamWriter} then
 * turns into bytes. Here each value goes to the generator's typed method, which is where the
 * {@code ObjectMapper} ends up for a String, number or boolean, so the output is byte for byte
 * what {@link IParser#encodeResourceToString} gives (FhirJsonTest holds it to that), except that
 * a character outside the BMP is written as its escapes (below). The
 * structure (what is written, in what order, contained resources, narrative, summary mode) is
 * still HAPI's: only the last step changes.
 */
public final class FhirJson {
  // A factory with no codec: values are written as they are, never through an ObjectMapper.
  // Straight to UTF-8, a character outside the BMP is written as its two escapes ("\uD83D\uDE00")
  // where HAPI writes its four bytes: the same JSON value. Jackson's option to write the bytes
  // (COMBINE_UNICODE_SURROGATES_IN_UTF8, 2.20) is not used: it joins a lone high surrogate with
  // whatever character follows it into a different character. Escaped, a lone surrogate reads
  // back as it was, where HAPI's own bytes hold '?' instead.
  private static final JsonFactory FACTORY = new JsonFactory();

  private FhirJson() {}

  /**
   * A compact UTF-8 generator of the kind this class writes with (no codec; characters outside
   * the BMP as escape pairs): for the writers held to HAPI's bytes field by field.
   */
  public static JsonGenerator generator(OutputStream out) throws IOException {
    return FACTORY.createGenerator(out, JsonEncoding.UTF8);
  }

  /** {@code r} as compact UTF-8 JSON, encoded by {@code parser} (a JSON parser). */
  public static byte[] encode(IParser parser, IBaseResource r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
    encode(parser, r, out);
    return out.toByteArray();
  }

  /** Writes {@code r} to {@code out} as compact UTF-8 JSON; {@code out} is left open. */
  public static void encode(IParser parser, IBaseResource r, OutputStream out) {
    if (!(parser instanceof IJsonLikeParser)) {
      try {
        out.write(parser.encodeResourceToString(r).getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return;
    }
    try (JsonGenerator g = generator(out)) {
      g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      ((IJsonLikeParser) parser).encodeResourceToJsonLikeWriter(r, new Writer(g));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** HAPI's writer contract over a codec-less generator. */
  private static final class Writer extends BaseJsonLikeWriter {
    private final JsonGenerator g;

    Writer(JsonGenerator g) {
      this.g = g;
    }

    @Override
    public BaseJsonLikeWriter init() {
      if (isPrettyPrint()) { // as HAPI prints it: two spaces, "name": value
        g.setPrettyPrinter(new DefaultPrettyPrinter()
            .withSeparators(new Separators(Separators.DEFAULT_ROOT_VALUE_SEPARATOR, ':',
                Separators.Spacing.AFTER, ',', Separators.Spacing.NONE, ',',
                Separators.Spacing.NONE))
            .withObjectIndenter(new DefaultIndenter("  ", "\n")));
      }
      return this;
    }

    @Override
    public BaseJsonLikeWriter flush() {
      return this;
    }

    @Override
    public void close() throws IOException {
      g.close();
    }

    @Override
    public BaseJsonLikeWriter beginObject() throws IOException {
      g.writeStartObject();
      return this;
    }

    @Override
    public BaseJsonLikeWriter beginObject(String name) throws IOException {
      g.writeObjectFieldStart(name);
      return this;
    }

    @Override
    public BaseJsonLikeWriter beginArray(String name) throws IOException {
      g.writeArrayFieldStart(name);
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(String value) throws IOException {
      if (value == null) {
        g.writeNull();
      } else {
        g.writeString(value);
      }
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(BigInteger value) throws IOException {
      if (value == null) {
        g.writeNull();
      } else {
        g.writeNumber(value);
      }
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(BigDecimal value) throws IOException {
      if (value == null) {
        g.writeNull();
      } else {
        g.writeNumber(value);
      }
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(long value) throws IOException {
      g.writeNumber(value);
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(double value) throws IOException {
      g.writeNumber(value);
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(Boolean value) throws IOException {
      if (value == null) {
        g.writeNull();
      } else {
        g.writeBoolean(value);
      }
      return this;
    }

    @Override
    public BaseJsonLikeWriter write(boolean value) throws IOException {
      g.writeBoolean(value);
      return this;
    }

    @Override
    public BaseJsonLikeWriter writeNull() throws IOException {
      g.writeNull();
      return this;
    }

    // a named value: the name, then the value as above

    @Override
    public BaseJsonLikeWriter write(String name, String value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, BigInteger value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, BigDecimal value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, long value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, double value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, Boolean value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter write(String name, boolean value) throws IOException {
      g.writeFieldName(name);
      return write(value);
    }

    @Override
    public BaseJsonLikeWriter endObject() throws IOException {
      g.writeEndObject();
      return this;
    }

    @Override
    public BaseJsonLikeWriter endArray() throws IOException {
      g.writeEndArray();
      return this;
    }

    @Override
    public BaseJsonLikeWriter endBlock() throws IOException {
      g.writeEndObject();
      return this;
    }
  }
}
