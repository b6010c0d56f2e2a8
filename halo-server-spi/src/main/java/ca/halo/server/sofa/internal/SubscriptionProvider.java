package ca.halo.server.sofa.internal;

import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.SubscriptionException;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.OperationParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.IResourceProvider;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Subscription CRUD, {@code $status}, {@code $events} and {@code $get-ws-binding-token} for the
 * Subscription Requester. Who may subscribe, to what, and what each subscriber is sent is the
 * engine's rule ({@link SubscriptionEngine}); each caller sees only its own subscriptions.
 */
public final class SubscriptionProvider implements IResourceProvider {
  private final SubscriptionEngine engine;
  private final FhirContext ctx;

  public SubscriptionProvider(SubscriptionEngine engine, FhirContext ctx) {
    this.engine = engine;
    this.ctx = ctx;
  }

  @Override
  public Class<? extends IBaseResource> getResourceType() {
    return Subscription.class;
  }

  @Create
  public MethodOutcome create(@ResourceParam Subscription s, RequestDetails rd) {
    try {
      Subscription out = engine.create(s, AuthInterceptor.principal(rd));
      MethodOutcome mo = new MethodOutcome(new IdType("Subscription", out.getIdElement().getIdPart()), true);
      mo.setResource(out);
      return mo;
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Read
  public Subscription read(@IdParam IdType id, RequestDetails rd) {
    try {
      return engine.read(id.getIdPart(), AuthInterceptor.principal(rd));
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Update
  public MethodOutcome update(@IdParam IdType id, @ResourceParam Subscription s, RequestDetails rd) {
    try {
      Subscription out = engine.update(id.getIdPart(), s, AuthInterceptor.principal(rd));
      MethodOutcome mo = new MethodOutcome(new IdType("Subscription", id.getIdPart()), false);
      mo.setResource(out);
      return mo;
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Delete
  public MethodOutcome delete(@IdParam IdType id, RequestDetails rd) {
    try {
      engine.delete(id.getIdPart(), AuthInterceptor.principal(rd));
      return new MethodOutcome();
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Search
  public List<Subscription> list(RequestDetails rd) {
    return engine.list(AuthInterceptor.principal(rd));
  }

  @Operation(name = "$status", idempotent = true)
  public Bundle status(@IdParam IdType id, RequestDetails rd) {
    try {
      return engine.status(id.getIdPart(), AuthInterceptor.principal(rd));
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Operation(name = "$events", idempotent = true)
  public Bundle events(@IdParam IdType id,
      @OperationParam(name = "eventsSinceNumber") StringType since,
      @OperationParam(name = "eventsUntilNumber") StringType until,
      @OperationParam(name = "content") CodeType content,
      RequestDetails rd) {
    try {
      return engine.events(id.getIdPart(), AuthInterceptor.principal(rd),
          number(since, "eventsSinceNumber"), number(until, "eventsUntilNumber"),
          content == null ? null : content.getValue());
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  /**
   * {@code $get-ws-binding-token}, at instance level ({@code Subscription/{id}/$get...}) or type
   * level with the Backport IG's {@code id} parameter (type {@code id}; {@code valueString} and a
   * {@code Subscription/} prefix are accepted too).
   */
  @Operation(name = "$get-ws-binding-token", idempotent = false, manualRequest = true)
  public Parameters bindingToken(@IdParam(optional = true) IdType id, RequestDetails rd) {
    List<String> ids = new ArrayList<>();
    if (id != null && id.hasIdPart()) {
      ids.add(id.getIdPart());
    }
    byte[] body = rd.loadRequestContents();
    if (body != null && body.length > 0) {
      Parameters in = OperationsProvider.parseParameters(ctx, rd, body);
      for (Parameters.ParametersParameterComponent p : in.getParameter()) {
        if (!"id".equals(p.getName())) {
          throw Errors.of(400, String.valueOf(p.getName()),
              "$get-ws-binding-token takes only the parameter id");
        }
        if (!(p.getValue() instanceof PrimitiveType) || !p.getValue().hasPrimitiveValue()) {
          throw Errors.of(400, "id", "id must be a valueId (or valueString)");
        }
        String v = p.getValue().primitiveValue();
        ids.add(v.startsWith("Subscription/") ? new IdType(v).getIdPart() : v);
      }
    }
    if (ids.isEmpty()) {
      throw Errors.of(400, "id", "name the subscription: Subscription/{id}/$get-ws-binding-token or id");
    }
    try {
      return engine.bindingToken(ids.stream().distinct().toList(), AuthInterceptor.principal(rd));
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  private static Long number(StringType s, String name) {
    if (s == null || s.getValue() == null) {
      return null;
    }
    try {
      return Long.parseLong(s.getValue());
    } catch (NumberFormatException e) {
      throw Errors.of(400, name, name + " must be a whole number");
    }
  }
}
