package ca.halo.subscription;

import ca.halo.core.HaloParseException;
import ca.halo.core.internal.fhir.FhirJsonBodies;
import ca.halo.core.subscription.SubscriptionNotification;
import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A framework-neutral rest-hook endpoint: give it the request's headers and body, answer with the
 * status it returns. Mount it in any HTTP stack (a servlet, Spring, the JDK server of
 * {@link RestHookReceiver}).
 *
 * <pre>{@code
 * RestHookHandler hook = RestHookHandler.builder(consumer)
 *     .requireHeader("Authorization", "Bearer " + hookSecret).build();
 * int status = hook.handle(headers, body);
 * }</pre>
 *
 * <p>Answers: 401 when the configured channel header is missing or wrong (a forged post), 400 for
 * a body that is not a notification Bundle, 503 when a gap could not be filled yet (the SoFA
 * retries, nothing is lost), 500 when the listener failed, 200 otherwise. Thread-safe.
 */
public final class RestHookHandler {
  private static final Logger LOG = LoggerFactory.getLogger(RestHookHandler.class);

  private final NotificationConsumer consumer;
  private final FhirContext ctx;
  private final String headerName;
  private final byte[] headerValue;
  private final long maxBodyBytes;

  private RestHookHandler(Builder b) {
    this.consumer = b.consumer;
    this.ctx = b.ctx;
    this.headerName = b.headerName;
    this.headerValue = b.headerValue == null ? null : b.headerValue.getBytes(StandardCharsets.UTF_8);
    this.maxBodyBytes = b.maxBodyBytes;
  }

  public static Builder builder(NotificationConsumer consumer) {
    return new Builder(consumer);
  }

  /**
   * Whether a post with these headers comes from the subscription (the configured channel header
   * is present with its value, compared in constant time). Call it before reading the body: a
   * server should not read what a stranger posts. {@link #handle} checks it again.
   */
  public boolean accepts(Map<String, List<String>> headers) {
    if (headerName == null) {
      return true;
    }
    String got = null;
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey() != null && e.getKey().toLowerCase(Locale.ROOT).equals(headerName)
          && e.getValue() != null && !e.getValue().isEmpty() && e.getValue().get(0) != null) {
        got = e.getValue().get(0);
      }
    }
    return got != null && MessageDigest.isEqual(headerValue, got.getBytes(StandardCharsets.UTF_8));
  }

  /** The largest body {@link #handle} takes. */
  public long maxBodyBytes() {
    return maxBodyBytes;
  }

  /** Handles one POST; returns the HTTP status to answer. */
  public int handle(Map<String, List<String>> headers, byte[] body) {
    if (!accepts(headers)) {
      // DEBUG: strangers' posts must not be able to fill the log
      LOG.debug("refused a rest-hook post without the expected channel header");
      return 401;
    }
    if (body == null || body.length == 0 || body.length > maxBodyBytes) {
      return 400;
    }
    SubscriptionNotification n;
    try {
      // screened first: HAPI alone spends hours on a number such as 1E+50000000
      IBaseResource r = FhirJsonBodies.parse(ctx, new String(body, StandardCharsets.UTF_8),
          "rest-hook notification");
      if (!(r instanceof Bundle)) {
        LOG.warn("refused a rest-hook post that is not a Bundle");
        return 400;
      }
      n = SubscriptionNotification.parse((Bundle) r);
    } catch (HaloParseException e) {
      LOG.warn("refused a rest-hook post that is not a notification Bundle");
      return 400;
    }
    try {
      return consumer.accept(n) ? 200 : 503;
    } catch (RuntimeException e) {
      LOG.warn("the subscription listener failed ({}); the server will retry", e.getClass().getSimpleName());
      return 500;
    }
  }

  /** Builds a {@link RestHookHandler}. */
  public static final class Builder {
    private final NotificationConsumer consumer;
    private FhirContext ctx = FhirContext.forR4Cached();
    private String headerName;
    private String headerValue;
    private long maxBodyBytes = 16L * 1024 * 1024;

    private Builder(NotificationConsumer consumer) {
      this.consumer = Objects.requireNonNull(consumer);
    }

    /** Posts must carry this header with exactly this value (the Subscription's channel.header). */
    public Builder requireHeader(String name, String value) {
      this.headerName = Objects.requireNonNull(name).toLowerCase(Locale.ROOT);
      this.headerValue = Objects.requireNonNull(value);
      return this;
    }

    public Builder fhirContext(FhirContext v) { this.ctx = Objects.requireNonNull(v); return this; }
    public Builder maxBodyBytes(long v) { this.maxBodyBytes = v; return this; }

    public RestHookHandler build() {
      return new RestHookHandler(this);
    }
  }
}
