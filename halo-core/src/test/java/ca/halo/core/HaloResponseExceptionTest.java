package ca.halo.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.Test;

class HaloResponseExceptionTest {

  @Test
  void http_statusOnly_noOauthErrorNoOutcome() {
    HaloResponseException e = HaloResponseException.http("JWKS answered HTTP 503", 503);
    assertThat(e.getMessage()).isEqualTo("JWKS answered HTTP 503");
    assertThat(e.httpStatus()).isEqualTo(503);
    assertThat(e.oauthError()).isEmpty();
    assertThat(e.oauthErrorDescription()).isEmpty();
    assertThat(e.operationOutcome()).isEmpty();
  }

  @Test
  void of_noHttpStatus_statusZero() {
    assertThat(HaloResponseException.of("Subscription/1 is error").httpStatus()).isZero();
  }

  @Test
  void oauth_allParts_messageNamesStatusErrorAndDescription() {
    HaloResponseException e =
        HaloResponseException.oauth("token request refused", 400, "invalid_grant", "expired");
    assertThat(e.getMessage())
        .isEqualTo("token request refused: HTTP 400, error=invalid_grant (expired)");
    assertThat(e.oauthError()).contains("invalid_grant");
    assertThat(e.oauthErrorDescription()).contains("expired");
  }

  @Test
  void oauth_noErrorCodeNoStatus_leavesThoseParts() {
    assertThat(HaloResponseException.oauth("catalog refused", 400, null, "bad page")
        .getMessage()).isEqualTo("catalog refused: HTTP 400 (bad page)");
    assertThat(HaloResponseException.oauth("authorization refused", 0, "access_denied", null)
        .getMessage()).isEqualTo("authorization refused: error=access_denied");
  }

  @Test
  void fhir_keepsOutcome() {
    OperationOutcome oo = new OperationOutcome();
    HaloResponseException e = HaloResponseException.fhir("read refused", 404, oo);
    assertThat(e.operationOutcome()).containsSame(oo);
    assertThat(e.httpStatus()).isEqualTo(404);
  }
}
