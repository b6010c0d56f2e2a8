package ca.halo.sofa;

import java.util.List;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The answer to {@code $clear-context}: one or more OperationOutcomes.
 *
 * <p>Immutable; {@link #outcomes()} returns copies.
 */
public final class ClearContextResult {
  private final List<OperationOutcome> outcomes;
  private final boolean cleared;

  ClearContextResult(List<OperationOutcome> outcomes, boolean cleared) {
    this.outcomes = List.copyOf(outcomes);
    this.cleared = cleared;
  }

  /** Whether the SoFA confirmed the context is gone. */
  public boolean cleared() {
    return cleared;
  }

  public List<OperationOutcome> outcomes() {
    return outcomes.stream().map(OperationOutcome::copy).toList();
  }

  /** The diagnostics of every issue, for a log line. */
  public String summary() {
    StringBuilder b = new StringBuilder();
    for (OperationOutcome oo : outcomes) {
      for (OperationOutcome.OperationOutcomeIssueComponent i : oo.getIssue()) {
        if (b.length() > 0) {
          b.append("; ");
        }
        b.append(i.getSeverity() == null ? "" : i.getSeverity().toCode()).append(": ")
            .append(i.getDiagnostics());
      }
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return "ClearContextResult{cleared=" + cleared + ", " + summary() + "}";
  }
}
