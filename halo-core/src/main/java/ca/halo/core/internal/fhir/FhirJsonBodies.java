package ca.halo.core.internal.fhir;

import ca.halo.core.HaloParseException;
import ca.halo.core.internal.Json;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.LenientErrorHandler;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * Reads FHIR JSON that came from a peer (a rest-hook post, a websocket frame, an HTTP answer).
 * Not public API.
 *
 * <p>HAPI's JSON parser reads every number as a {@code BigDecimal} and expands it with
 * {@code toPlainString()}: a body of a few bytes such as {@code {"value":1E+50000000}} makes it
 * build a fifty-million-digit string and parse it back, which takes hours of CPU (HAPI 8.8.1,
 * {@code JacksonStructure.getAsString}). So every body is first screened with Jackson's streaming
 * parser, which costs a fraction of HAPI's own parse: numbers longer than
 * {@value #MAX_NUMBER_CHARS} characters or with an exponent beyond &plusmn;{@value #MAX_EXPONENT},
 * nesting deeper than {@value #MAX_DEPTH}, and more than {@value #MAX_CONTAINERS} objects and
 * arrays (HAPI's memory per object), are refused before HAPI sees them. Anything HAPI
 * then throws (its {@link DataFormatException}, or one of its own defects) becomes a
 * {@link HaloParseException}. Unknown and repeated elements are tolerated without a log line each.
 */
public final class FhirJsonBodies {
  /** Deeper than any real resource (nested Bundles, Questionnaire items, contained resources). */
  public static final int MAX_DEPTH = 200;
  /** FHIR decimals have at most 18 significant digits; JSON integers fit in far fewer. */
  public static final int MAX_NUMBER_CHARS = 100;
  public static final int MAX_EXPONENT = 1000;
  /**
   * HAPI keeps about 75 bytes per JSON object or array it reads (3 MB of {@code {},} entries
   * become 76 MB of Bundle entries): a million of them is far beyond a real answer and bounds that
   * amplification.
   */
  public static final int MAX_CONTAINERS = 1_000_000;

  private static final Pattern HAPI_CODE = Pattern.compile("^(HAPI-\\d+)");
  /**
   * The screen reads what HAPI's JSON parser reads: HAPI 8.8.1's reader allows single quotes and
   * numbers with a leading {@code +}, which strict JSON refuses (the screen would stop at them,
   * and HAPI go on to expand the number behind them). Read from the SDK's own mapper's factory,
   * for its limits.
   */
  private static final com.fasterxml.jackson.core.JsonFactory AS_HAPI_READS = Json.MAPPER.getFactory()
      .rebuild().enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_SINGLE_QUOTES,
          com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_LEADING_PLUS_SIGN_FOR_NUMBERS)
      .build();
  private static final LenientErrorHandler QUIET = new LenientErrorHandler(false);

  private FhirJsonBodies() {}

  /**
   * What makes {@code json}, read in {@code charset} as HAPI would read it, unsafe for HAPI's
   * JSON parser (huge numbers, deep nesting), if anything. Malformed JSON is not reported here:
   * HAPI reports it itself, and on an error answer still keeps the HTTP status.
   */
  public static Optional<String> unsafe(byte[] json, java.nio.charset.Charset charset) {
    // decoded as it streams (an answer may be tens of megabytes of something else), past the
    // leading whitespace HAPI skips
    java.io.PushbackReader in = new java.io.PushbackReader(new java.io.InputStreamReader(
        new java.io.ByteArrayInputStream(json), charset));
    try {
      int c;
      do {
        c = in.read();
      } while (c >= 0 && Character.isWhitespace(c));
      if (c < 0) {
        return Optional.empty();
      }
      in.unread(c);
      try (JsonParser p = AS_HAPI_READS.createParser(in)) {
        return scan(p);
      }
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * {@code json} from its first character that is not whitespace to Java ({@link
   * Character#isWhitespace}): HAPI's reader skips those (a form feed, U+3000), strict JSON does
   * not, and a screen that stopped at one would let HAPI read what follows unscreened.
   */
  private static String afterHapisWhitespace(String json) {
    int i = contentStart(json);
    return i == 0 ? json : json.substring(i);
  }

  /**
   * The index of {@code text}'s first character that is not whitespace to Java, where HAPI's
   * readers start: what is there ({@code '{'}, {@code '<'}) says how HAPI would read it.
   */
  public static int contentStart(String text) {
    int i = 0;
    while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Empty when {@code json} is safe to hand to HAPI's JSON parser; otherwise what is wrong. */
  public static Optional<String> problem(String json) {
    if (json == null) {
      return Optional.of("no body");
    }
    try (JsonParser p = AS_HAPI_READS.createParser(afterHapisWhitespace(json))) {
      return scan(p);
    } catch (JsonProcessingException e) {
      return Optional.of("malformed JSON at line " + line(e));
    } catch (IOException e) {
      return Optional.of("unreadable JSON");
    }
  }

  private static Optional<String> scan(JsonParser p) throws IOException {
    int depth = 0;
    int containers = 0;
    JsonToken t;
    while ((t = p.nextToken()) != null) {
      switch (t) {
        case START_OBJECT:
        case START_ARRAY:
          if (++depth > MAX_DEPTH) {
            return Optional.of("JSON nested deeper than " + MAX_DEPTH + " levels");
          }
          if (++containers > MAX_CONTAINERS) {
            return Optional.of("more than " + MAX_CONTAINERS + " JSON objects and arrays");
          }
          break;
        case END_OBJECT:
        case END_ARRAY:
          depth--;
          break;
        case VALUE_NUMBER_INT:
        case VALUE_NUMBER_FLOAT:
          String n = p.getText();
          if (!isSafeNumber(n)) {
            return Optional.of("a JSON number beyond what FHIR allows (" + n.length()
                + " characters)");
          }
          break;
        default:
          break;
      }
    }
    return Optional.empty();
  }

  /**
   * Whether HAPI may read the JSON number (or numeric XML attribute) {@code n}: at most
   * {@value #MAX_NUMBER_CHARS} characters and an exponent within &plusmn;{@value #MAX_EXPONENT}.
   */
  public static boolean isSafeNumber(String n) {
    return n.length() <= MAX_NUMBER_CHARS && !exponentTooLarge(n);
  }

  private static boolean exponentTooLarge(String n) {
    int e = Math.max(n.indexOf('e'), n.indexOf('E'));
    if (e < 0) {
      return false;
    }
    String exp = n.substring(e + 1);
    if (exp.startsWith("+") || exp.startsWith("-")) {
      exp = exp.substring(1);
    }
    exp = exp.replaceFirst("^0+", "");
    return exp.length() > 4 || (!exp.isEmpty() && Integer.parseInt(exp) > MAX_EXPONENT);
  }

  private static int line(JsonProcessingException e) {
    return e.getLocation() == null ? 0 : e.getLocation().getLineNr();
  }

  /**
   * Screens and parses a FHIR JSON body.
   *
   * @param what names the body in the error message ("rest-hook notification", ...)
   * @throws HaloParseException if it is unsafe, not JSON, or not a FHIR resource
   */
  public static IBaseResource parse(FhirContext ctx, String json, String what) {
    Optional<String> problem = problem(json);
    if (problem.isPresent()) {
      throw new HaloParseException(what + ": " + problem.get());
    }
    try {
      // lenient on unknown and repeated elements, as the SDK is on unknown JSON members, but
      // silent: HAPI's default handler logs a WARN per oddity, and a hostile body can hold
      // hundreds of thousands of them
      return ctx.newJsonParser().setParserErrorHandler(QUIET).parseResource(json);
    } catch (DataFormatException e) {
      throw new HaloParseException(what + ": not a FHIR resource (" + code(e) + ")", e);
    } catch (RuntimeException e) {
      // a HAPI defect on hostile input; the body is at fault either way
      throw new HaloParseException(what + ": HAPI cannot read it (" + e.getClass().getSimpleName()
          + ")", e);
    }
  }

  /** HAPI's message code only: its messages can quote the body, which may hold patient data. */
  private static String code(DataFormatException e) {
    Matcher m = HAPI_CODE.matcher(String.valueOf(e.getMessage()));
    return m.find() ? m.group(1) : "DataFormatException";
  }
}
