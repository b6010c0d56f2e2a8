package ca.halo.server.sofa.internal;

import ca.halo.core.Interaction;
import ca.halo.core.SmartScopes;
import ca.halo.server.security.Principal;
import ca.halo.server.sofa.ContextManager;
import ca.halo.server.subscription.SubscriptionEngine;
import ca.halo.server.subscription.SubscriptionException;
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
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Subscription CRUD, {@code $status}, {@code $events} and {@code $get-ws-binding-token} for the
 * Subscription Requester (PoC). Each caller sees only its own subscriptions.
 */
public final class SubscriptionProvider implements IResourceProvider {
  private final SubscriptionEngine engine;
  private final ContextManager contexts;

  public SubscriptionProvider(SubscriptionEngine engine, ContextManager contexts) {
    this.engine = engine;
    this.contexts = contexts;
  }

  @Override
  public Class<? extends IBaseResource> getResourceType() {
    return Subscription.class;
  }

  private String owner(RequestDetails rd, Interaction i) {
    Principal p = AuthInterceptor.principal(rd);
    if (!contexts.mayWriteContext(p)
        && p.scopes().access(i, "Subscription") == SmartScopes.Access.NONE) {
      throw Errors.of(403, "Subscription", "managing subscriptions needs user/Context.write,"
          + " system/Context.write or a Subscription scope");
    }
    return p.bindingKey();
  }

  @Create
  public MethodOutcome create(@ResourceParam Subscription s, RequestDetails rd) {
    try {
      Subscription out = engine.create(s, owner(rd, Interaction.CREATE));
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
      return engine.read(id.getIdPart(), owner(rd, Interaction.READ));
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Update
  public MethodOutcome update(@IdParam IdType id, @ResourceParam Subscription s, RequestDetails rd) {
    try {
      Subscription out = engine.update(id.getIdPart(), s, owner(rd, Interaction.UPDATE));
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
      engine.delete(id.getIdPart(), owner(rd, Interaction.DELETE));
      return new MethodOutcome();
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Search
  public List<Subscription> list(RequestDetails rd) {
    return engine.list(owner(rd, Interaction.SEARCH));
  }

  @Operation(name = "$status", idempotent = true)
  public Bundle status(@IdParam IdType id, RequestDetails rd) {
    try {
      return engine.status(id.getIdPart(), owner(rd, Interaction.READ));
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
      return engine.events(id.getIdPart(), owner(rd, Interaction.READ), number(since, "eventsSinceNumber"),
          number(until, "eventsUntilNumber"), content == null ? null : content.getValue());
    } catch (SubscriptionException e) {
      throw Errors.of(e);
    }
  }

  @Operation(name = "$get-ws-binding-token", idempotent = false)
  public Parameters bindingToken(@IdParam(optional = true) IdType id,
      @OperationParam(name = "id") StringType idParam, RequestDetails rd) {
    String subId = id != null && id.hasIdPart() ? id.getIdPart()
        : idParam == null ? null : new IdType(idParam.getValue()).getIdPart();
    if (subId == null) {
      throw Errors.of(400, "id", "name the subscription: Subscription/{id}/$get-ws-binding-token or id");
    }
    try {
      return engine.bindingToken(subId, owner(rd, Interaction.READ));
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
