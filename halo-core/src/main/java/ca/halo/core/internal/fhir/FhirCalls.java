package ca.halo.core.internal.fhir;

import ca.halo.core.HaloException;
import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.net.URI;
import java.util.function.Function;
import java.util.function.Supplier;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The one mapping from what HAPI's generic client throws to the {@link HaloException}
 * hierarchy, shared by the clients that call the SoFA's FHIR API ({@code SofaClient},
 * {@code SubscriptionClient}).
 *
 * <ul>
 *   <li>the SoFA could not be reached: {@link HaloTransportException};</li>
 *   <li>the SoFA answered something that is not FHIR (HAPI reports that as a connection failure
 *       caused by a {@link DataFormatException}, or fails inside its parser):
 *       {@link HaloParseException};</li>
 *   <li>the SoFA refused: a {@link Refusal}, turned into a {@link HaloResponseException} by the
 *       caller's function (or {@link Refusal#toException()}).</li>
 * </ul>
 */
public final class FhirCalls {
  private FhirCalls() {}

  /** What the server said when it refused: status, OperationOutcome, first diagnostics. */
  public record Refusal(
      String what, int status, OperationOutcome outcome, String diagnostics, String location) {

    /** {@code " (at location)"}, or empty when the server named no location. */
    public String at() {
      return location.isEmpty() ? "" : " (at " + location + ")";
    }

    /** The plain form: {@code what refused (HTTP status) (at location): diagnostics}. */
    public HaloResponseException toException() {
      return HaloResponseException.fhir(
          what + " refused (HTTP " + status + ")" + at() + ": " + diagnostics, status, outcome);
    }
  }

  /** Runs {@code call}, mapping failures; refusals become {@link Refusal#toException()}. */
  public static <T> T call(String what, URI base, Supplier<T> call) {
    return call(what, base, call, Refusal::toException);
  }

  /** Runs {@code call} against the SoFA at {@code base}; refusals go through {@code refusals}. */
  public static <T> T call(String what, URI base, Supplier<T> call,
      Function<Refusal, ? extends HaloResponseException> refusals) {
    try {
      return call.get();
    } catch (FhirClientConnectionException e) {
      if (e.getCause() instanceof DataFormatException) {
        // HAPI reports an answer it cannot parse as a connection failure
        throw new HaloParseException(what + ": the SoFA's answer is not valid FHIR", e);
      }
      throw new HaloTransportException(what + ": cannot reach the SoFA at " + base + ": "
          + e.getMessage(), e);
    } catch (DataFormatException e) {
      throw new HaloParseException(what + ": the SoFA's answer is not valid FHIR", e);
    } catch (BaseServerResponseException e) {
      throw refusals.apply(refusal(what, e));
    } catch (HaloException e) {
      throw e;
    } catch (RuntimeException e) {
      // HAPI's parser meeting an answer it was not written for (one of its own defects, such as
      // StringIndexOutOfBoundsException on an empty member name)
      throw new HaloParseException(what + ": the SoFA's answer could not be read as FHIR ("
          + e.getClass().getSimpleName() + ")", e);
    }
  }

  /** The refusal HAPI reported: the OperationOutcome's first issue names diagnostics and place. */
  public static Refusal refusal(String what, BaseServerResponseException e) {
    OperationOutcome oo = e.getOperationOutcome() instanceof OperationOutcome
        ? (OperationOutcome) e.getOperationOutcome() : null;
    String diag = e.getMessage();
    String location = "";
    if (oo != null && oo.hasIssue()) {
      OperationOutcome.OperationOutcomeIssueComponent first = oo.getIssueFirstRep();
      if (first.hasDiagnostics()) {
        diag = first.getDiagnostics();
      }
      if (first.hasExpression()) {
        location = first.getExpression().get(0).getValue();
      }
    }
    return new Refusal(what, e.getStatusCode(), oo, diag, location == null ? "" : location);
  }
}
