package ca.halo.core.subscription;

/**
 * Canonical URLs of the Subscriptions R5 Backport IG on R4, and HALO's topic.
 *
 * <p>Spec: Subscriptions R5 Backport IG 1.1 (profiles backport-subscription,
 * backport-subscription-status-r4, backport-subscription-notification-r4); HALO CA:FSub.
 */
public final class Backport {
  private Backport() {}

  private static final String SD = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

  public static final String SUBSCRIPTION_PROFILE = SD + "backport-subscription";
  public static final String STATUS_PROFILE = SD + "backport-subscription-status-r4";
  public static final String NOTIFICATION_PROFILE = SD + "backport-subscription-notification-r4";
  public static final String FILTER_CRITERIA = SD + "backport-filter-criteria";
  public static final String PAYLOAD_CONTENT = SD + "backport-payload-content";
  public static final String HEARTBEAT_PERIOD = SD + "backport-heartbeat-period";
  public static final String TIMEOUT = SD + "backport-timeout";
  public static final String MAX_COUNT = SD + "backport-max-count";

  /**
   * HALO's one topic, "SOFA Content Update" (our default canonical: the published guide does not
   * fix one).
   */
  public static final String HALO_TOPIC =
      "http://fhir.infoway-inforoute.ca/io/HALO/SubscriptionTopic/sofa-content-update";
}
