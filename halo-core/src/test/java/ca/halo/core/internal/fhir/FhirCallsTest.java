package ca.halo.core.internal.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.halo.core.HaloParseException;
import ca.halo.core.HaloResponseException;
import ca.halo.core.HaloTransportException;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import java.net.URI;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.Test;

class FhirCallsTest {
  private static final URI BASE = URI.create("https://sofa.example.ca/fhir");

  private static OperationOutcome outcome(String diagnostics, String expression) {
    OperationOutcome oo = new OperationOutcome();
    OperationOutcome.OperationOutcomeIssueComponent i = oo.addIssue()
        .setSeverity(OperationOutcome.IssueSeverity.ERROR)
        .setCode(OperationOutcome.IssueType.INVALID);
    if (diagnostics != null) {
      i.setDiagnostics(diagnostics);
    }
    if (expression != null) {
      i.addExpression(expression);
    }
    return oo;
  }

  @Test
  void call_serverRefuses_responseExceptionWithStatusOutcomeDiagnosticsAndLocation() {
    OperationOutcome oo = outcome("patient is not a Patient", "Parameters.parameter[1]");
    assertThatThrownBy(() -> FhirCalls.call("$events", BASE, () -> {
      throw new UnprocessableEntityException("HTTP 422", oo);
    }))
        .isExactlyInstanceOf(HaloResponseException.class)
        .hasMessage("$events refused (HTTP 422) (at Parameters.parameter[1]):"
            + " patient is not a Patient")
        .satisfies(e -> {
          HaloResponseException r = (HaloResponseException) e;
          assertThat(r.httpStatus()).isEqualTo(422);
          assertThat(r.operationOutcome()).containsSame(oo);
          assertThat(r.oauthError()).isEmpty();
        });
  }

  @Test
  void call_outcomeWithoutDiagnostics_fallsBackToHapiMessage() {
    FhirCalls.Refusal r = FhirCalls.refusal("read",
        new UnprocessableEntityException("HTTP 422: bad", outcome(null, null)));
    assertThat(r.diagnostics()).contains("bad");
    assertThat(r.location()).isEmpty();
    assertThat(r.at()).isEmpty();
  }

  @Test
  void call_refusalFunction_decidesTheExceptionType() {
    class Named extends HaloResponseException {
      Named(FhirCalls.Refusal r) {
        super("named", r.status(), null, null, r.outcome());
      }
    }
    assertThatThrownBy(() -> FhirCalls.call("$set-context", BASE, () -> {
      throw new UnprocessableEntityException("x", outcome("y", null));
    }, Named::new)).isInstanceOf(Named.class).hasMessage("named");
  }

  @Test
  void call_connectionFailure_transportException() {
    assertThatThrownBy(() -> FhirCalls.call("read", BASE, () -> {
      throw new FhirClientConnectionException("connection refused");
    })).isExactlyInstanceOf(HaloTransportException.class)
        .hasMessageContaining("cannot reach the SoFA at " + BASE);
  }

  @Test
  void call_unparsableAnswer_parseException() {
    assertThatThrownBy(() -> FhirCalls.call("read", BASE, () -> {
      throw new FhirClientConnectionException(new DataFormatException("not JSON"));
    })).isExactlyInstanceOf(HaloParseException.class);
    assertThatThrownBy(() -> FhirCalls.call("read", BASE, () -> {
      throw new DataFormatException("not JSON");
    })).isExactlyInstanceOf(HaloParseException.class);
    assertThatThrownBy(() -> FhirCalls.call("read", BASE, () -> {
      throw new StringIndexOutOfBoundsException();
    })).isExactlyInstanceOf(HaloParseException.class)
        .hasMessageContaining("StringIndexOutOfBoundsException");
  }

  @Test
  void call_haloExceptionInside_passesThroughUnchanged() {
    HaloParseException inner = new HaloParseException("answer lacks a token");
    assertThatThrownBy(() -> FhirCalls.call("read", BASE, () -> {
      throw inner;
    })).isSameAs(inner);
  }
}
