package ca.halo.sofaserver.internal;

import ca.halo.sofaserver.config.SofaConfig;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets Logback up from {@code logging.format} and {@code logging.level}: text lines, or one JSON
 * object per line (Logback's {@link JsonEncoder}: time, level, logger, message, and the MDC with
 * the {@code requestId}). What the SoFA logs never holds a token or patient data.
 */
public final class Logging {
  private Logging() {}

  /** Applies the configuration to Logback, when Logback is the SLF4J provider (else nothing). */
  public static void configure(SofaConfig.LogFormat format, String level) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext)) {
      return;
    }
    LoggerContext ctx = (LoggerContext) factory;
    ctx.reset();
    Encoder<ILoggingEvent> encoder;
    if (format == SofaConfig.LogFormat.JSON) {
      JsonEncoder json = new JsonEncoder();
      json.setWithSequenceNumber(false);
      json.setWithNanoseconds(false);
      json.setWithFormattedMessage(true);
      json.setWithMessage(false);
      json.setWithArguments(false);
      json.setContext(ctx);
      json.start();
      encoder = json;
    } else {
      PatternLayoutEncoder text = new PatternLayoutEncoder();
      text.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%X{requestId:-}] %logger{30} - %msg%n");
      text.setContext(ctx);
      text.start();
      encoder = text;
    }
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setName("console");
    console.setContext(ctx);
    console.setEncoder(encoder);
    console.start();
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(level, Level.INFO));
    root.addAppender(console);
    // third parties that talk a lot at INFO
    ctx.getLogger("org.eclipse.jetty").setLevel(Level.WARN);
    ctx.getLogger("com.zaxxer.hikari").setLevel(Level.WARN);
    ctx.getLogger("org.flywaydb").setLevel(Level.WARN);
    ctx.getLogger("ca.uhn.fhir").setLevel(Level.WARN);
    ctx.getLogger("io.zonky").setLevel(Level.WARN);
  }
}
