package ca.halo.server.postgres.internal;

import ca.halo.core.SmartScopes;
import ca.halo.server.authz.AuthenticatedUser;
import ca.halo.server.authz.AuthorizationGrant;
import ca.halo.server.authz.PendingSignIn;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;

/**
 * The {@code jsonb} form of the authorization server's values. Written and read only by this
 * module (members in snake case, absent optional members left out); {@link #signIn} and
 * {@link #grant} restore values equal to those written.
 */
public final class StateJson {
  private StateJson() {}

  public static String write(PendingSignIn p) {
    ObjectNode o = Jsonb.MAPPER.createObjectNode();
    o.put("client_id", p.clientId());
    o.put("client_name", p.clientName());
    o.put("redirect_uri", p.redirectUri().toString());
    o.put("state", p.state());
    o.put("code_challenge", p.codeChallenge());
    o.put("scope", p.scopes().format());
    p.nonce().ifPresent(v -> o.put("nonce", v));
    p.sessionId().ifPresent(v -> o.put("session_id", v));
    o.put("browser_binding", p.browserBinding());
    o.put("remote_address", p.remoteAddress());
    return Jsonb.write(o);
  }

  /** The sign-in stored as {@code json}, with {@code attempts} counted. */
  public static PendingSignIn signIn(String json, int attempts) {
    JsonNode o = Jsonb.read(json);
    PendingSignIn p = PendingSignIn.builder(text(o, "client_id"), URI.create(text(o, "redirect_uri")),
            text(o, "state"), text(o, "code_challenge"), SmartScopes.parse(text(o, "scope")))
        .clientName(text(o, "client_name")).nonce(text(o, "nonce")).sessionId(text(o, "session_id"))
        .browserBinding(text(o, "browser_binding")).remoteAddress(text(o, "remote_address"))
        .build();
    for (int i = 0; i < attempts; i++) {
      p = p.withAttempt();
    }
    return p;
  }

  public static String write(AuthorizationGrant g) {
    ObjectNode o = Jsonb.MAPPER.createObjectNode();
    o.put("client_id", g.clientId());
    o.put("scope", g.scopes().format());
    o.set("user", userNode(g.user()));
    g.redirectUri().ifPresent(v -> o.put("redirect_uri", v.toString()));
    g.codeChallenge().ifPresent(v -> o.put("code_challenge", v));
    g.sessionId().ifPresent(v -> o.put("session_id", v));
    g.nonce().ifPresent(v -> o.put("nonce", v));
    return Jsonb.write(o);
  }

  public static AuthorizationGrant grant(String json) {
    JsonNode o = Jsonb.read(json);
    String redirect = text(o, "redirect_uri");
    return AuthorizationGrant.builder(text(o, "client_id"), SmartScopes.parse(text(o, "scope")),
            user(o.get("user")))
        .redirectUri(redirect == null ? null : URI.create(redirect))
        .codeChallenge(text(o, "code_challenge")).sessionId(text(o, "session_id"))
        .nonce(text(o, "nonce")).build();
  }

  public static String write(AuthenticatedUser u) {
    return Jsonb.write(userNode(u));
  }

  public static AuthenticatedUser user(String json) {
    return user(Jsonb.read(json));
  }

  private static ObjectNode userNode(AuthenticatedUser u) {
    ObjectNode o = Jsonb.MAPPER.createObjectNode();
    o.put("sub", u.subject());
    u.fhirUser().ifPresent(v -> o.put("fhir_user", v));
    o.put("name", u.displayName());
    return o;
  }

  private static AuthenticatedUser user(JsonNode o) {
    if (o == null || !o.isObject()) {
      throw new IllegalStateException("stored grant has no user");
    }
    return new AuthenticatedUser(text(o, "sub"), text(o, "fhir_user"), text(o, "name"));
  }

  private static String text(JsonNode o, String name) {
    JsonNode v = o.get(name);
    return v == null || v.isNull() ? null : v.asText();
  }
}
