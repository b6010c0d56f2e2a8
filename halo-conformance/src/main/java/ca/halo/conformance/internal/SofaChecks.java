package ca.halo.conformance.internal;

import static ca.halo.conformance.internal.Suite.require;
import static ca.halo.conformance.internal.Suite.skip;

import ca.halo.conformance.Rule;
import ca.halo.conformance.SofaTarget;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The {@code sofa} target: a SoFA's discovery, authorization server, operations and subscriptions. */
public final class SofaChecks {
  private static final String SMART = "SMART App Launch 2.1";
  private static final String SET = "HALO CA:SoFA-1 Set Context";
  private static final String CLEAR = "HALO CA:SoFA-2 Clear Context";
  private static final String FSUB = "HALO CA:FSub";
  private static final List<String> NONE = List.of();

  private final SofaTarget t;
  private final Suite s;
  private final Http http = Http.plain();
  private final Browser browser;
  private JsonNode smart;
  private String emrToken;
  private JsonNode emrTokens;
  private String emrNonce;
  private String launchA;
  private String launchB;
  private Fhir.Upload uploadA;
  private Fhir.Upload uploadB;
  private final Map<String, String> mapA = new LinkedHashMap<>();
  private final Map<String, String> mapB = new LinkedHashMap<>();
  private String appToken;
  private String appPatient;
  private String subscriptionId;
  private Socket socket;
  private final List<String> written = new ArrayList<>();
  private String emr2Token;

  private final Trust trust;

  public SofaChecks(SofaTarget target, Suite suite) {
    this.t = target;
    this.s = suite;
    this.trust = new Trust(target.fhirBase(), target.trustedOrigins());
    Redact.secrets(target.emrClientId(), target.emrClientSecret().orElse(null), target.password(),
        target.password2().orElse(null));
    this.browser = new Browser(target.username(), target.password(), trust);
  }

  private URI fhir(String path) {
    return URI.create(t.fhirBase() + "/" + path);
  }

  /** An endpoint of the SMART configuration, if the kit may call it with credentials. */
  private URI endpoint(String name) {
    String v = smart.path(name).asText("");
    if (v.isEmpty()) {
      throw skip("the SMART configuration has no " + name);
    }
    URI u;
    try {
      u = URI.create(v);
    } catch (IllegalArgumentException e) {
      throw new CheckFailure(name + " is not a URI");
    }
    return trust.require(u, name);
  }

  /** Runs every check of the target, in order. */
  public void run() {
    try {
      discovery();
      authorization();
      tokens();
      setContext();
      launch();
      subscriptions();
      clear();
    } finally {
      if (socket != null) {
        socket.close();
      }
    }
  }

  // ---------------------------------------------------------------- discovery

  private void discovery() {
    s.check("sofa.discovery.served", "SMART configuration is served",
        Rule.of("The FHIR base serves /.well-known/smart-configuration as JSON (200)",
            SMART + ", Conformance (.well-known/smart-configuration); HALO CA:SoF-2"), NONE, () -> {
          Http.Response r = http.get(fhir(".well-known/smart-configuration"), "Accept", "application/json");
          require(r.status == 200, "expected 200, got " + r.status);
          require(r.header("content-type").orElse("").startsWith("application/json"),
              "expected Content-Type application/json, got " + r.header("content-type").orElse("none"));
          smart = r.json();
          require(smart.isObject(), "the SMART configuration is not a JSON object");
          return "served, " + smart.size() + " fields";
        });
    List<String> needs = List.of("sofa.discovery.served");
    s.check("sofa.discovery.fields", "SMART configuration has the required fields, with their types",
        Rule.of("token_endpoint, grant_types_supported, capabilities and code_challenge_methods_supported are"
            + " present; authorization_endpoint with launch-ehr/launch-standalone; issuer and jwks_uri with"
            + " sso-openid-connect", SMART + ", Conformance (metadata)"), needs, () -> {
          List<String> wrong = new ArrayList<>();
          url(smart, "token_endpoint", wrong);
          array(smart, "grant_types_supported", wrong);
          array(smart, "capabilities", wrong);
          array(smart, "code_challenge_methods_supported", wrong);
          Set<String> caps = texts(smart.path("capabilities"));
          if (caps.contains("launch-ehr") || caps.contains("launch-standalone")) {
            url(smart, "authorization_endpoint", wrong);
          }
          if (caps.contains("sso-openid-connect")) {
            url(smart, "issuer", wrong);
            url(smart, "jwks_uri", wrong);
          }
          require(texts(smart.path("grant_types_supported")).contains("authorization_code"),
              "grant_types_supported lacks authorization_code");
          require(wrong.isEmpty(), "missing or mistyped: " + wrong);
          return "all present; capabilities " + caps;
        });
    s.check("sofa.discovery.s256-only", "PKCE S256 offered, plain never",
        Rule.of("code_challenge_methods_supported contains S256 and does not contain plain",
            SMART + ", Conformance (code_challenge_methods_supported); RFC 7636 §4.2"), needs, () -> {
          Set<String> m = texts(smart.path("code_challenge_methods_supported"));
          require(m.contains("S256"), "S256 missing from " + m);
          require(!m.contains("plain"), "plain is offered: " + m);
          return "methods " + m;
        });
    s.check("sofa.discovery.launch-ehr", "EHR launch advertised",
        Rule.of("The SoFA supports the EHR launch the PoC performs with iss and launch (capability launch-ehr)",
            "HALO CA:SoF-1; " + SMART + ", Conformance (capabilities)"), needs, () -> {
          Set<String> caps = texts(smart.path("capabilities"));
          require(caps.contains("launch-ehr"), "capability launch-ehr missing: " + caps);
          return "launch-ehr advertised";
        });
    s.check("sofa.discovery.metadata", "FHIR R4 CapabilityStatement",
        Rule.of("The SoFA's FHIR endpoint is FHIR R4 (4.0.1) and serves its CapabilityStatement at /metadata",
            "HALO (FHIR R4 4.0.1); FHIR R4 RESTful API §capabilities"), NONE, () -> {
          Http.Response r = http.getFhir(fhir("metadata"), null);
          require(r.status == 200, "expected 200, got " + r.status);
          JsonNode c = r.json();
          require("CapabilityStatement".equals(c.path("resourceType").asText()), "not a CapabilityStatement");
          require(c.path("fhirVersion").asText().startsWith("4.0"), "fhirVersion is " + c.path("fhirVersion").asText());
          return "fhirVersion " + c.path("fhirVersion").asText();
        });
  }

  // ---------------------------------------------------------------- authorization

  private URI authorizeUrl(String clientId, String redirect, String scope, String state, String challenge,
      String method, String aud, String launch, String nonce) {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("response_type", "code");
    q.put("client_id", clientId);
    q.put("redirect_uri", redirect);
    q.put("scope", scope);
    q.put("state", state);
    q.put("aud", aud);
    q.put("launch", launch);
    q.put("nonce", nonce);
    q.put("code_challenge", challenge);
    q.put("code_challenge_method", method);
    URI a = endpoint("authorization_endpoint");
    return URI.create(a + (a.getRawQuery() == null ? "?" : "&") + Http.form(q));
  }

  private Http.Response token(Map<String, String> form, boolean emr) {
    URI te = endpoint("token_endpoint");
    if (emr && t.emrClientSecret().isPresent()) {
      return http.postForm(te, form, "Accept", "application/json",
          "Authorization", Http.basic(t.emrClientId(), t.emrClientSecret().get()));
    }
    Map<String, String> f = new LinkedHashMap<>(form);
    f.put("client_id", emr ? t.emrClientId() : t.appClientId());
    return http.postForm(te, f, "Accept", "application/json");
  }

  /** Redeems an authorization code (RFC 6749 §4.1.3) as the EMR or the app. */
  private Http.Response redeem(String code, String redirect, String verifier, boolean emr) {
    return token(Map.of("grant_type", "authorization_code", "code", code, "redirect_uri", redirect,
        "code_verifier", verifier), emr);
  }

  /** A fresh EMR code with S256 PKCE; returns {code, verifier}. */
  private String[] emrCode(Browser b) {
    Pkce p = Pkce.create();
    String state = Pkce.random(16);
    Browser.Outcome o = b.authorize(authorizeUrl(t.emrClientId(), t.emrRedirect().toString(), t.emrScopes(),
        state, p.challenge, "S256", t.fhirBase().toString(), null, Pkce.random(16)), t.emrRedirect().toString());
    require(o.redirect != null, "the sign-in did not come back to the EMR's redirect URI (last HTTP " + o.status + ")");
    require(o.param("code").isPresent(), "no code came back: " + Redact.query(o.redirect.toString()));
    return new String[] {o.param("code").get(), p.verifier};
  }

  private void noCode(Browser.Outcome o, String what) {
    if (o.redirect != null && o.param("code").isPresent()) {
      throw new CheckFailure("the server issued a code for " + what);
    }
  }

  private void authorization() {
    List<String> needs = List.of("sofa.discovery.served");
    s.check("sofa.authz.pkce-required", "Authorization without PKCE is refused",
        Rule.of("An authorization request without code_challenge is refused (no code)",
            SMART + ", App Launch (PKCE required); RFC 7636 §4.4.1"), needs, () -> {
          Browser.Outcome o = browser.authorize(authorizeUrl(t.emrClientId(), t.emrRedirect().toString(),
              t.emrScopes(), Pkce.random(16), null, null, t.fhirBase().toString(), null, null), t.emrRedirect().toString());
          noCode(o, "a request without code_challenge");
          return o.redirect == null ? "refused with HTTP " + o.status : "refused: error=" + o.param("error").orElse("?");
        });
    s.check("sofa.authz.pkce-plain-refused", "PKCE method plain is refused",
        Rule.of("code_challenge_method=plain is refused; only S256", SMART + ", App Launch (PKCE: S256 only); RFC 7636 §4.2"), needs, () -> {
          String v = Pkce.random(32);
          Browser.Outcome o = browser.authorize(authorizeUrl(t.emrClientId(), t.emrRedirect().toString(),
              t.emrScopes(), Pkce.random(16), v, "plain", t.fhirBase().toString(), null, null), t.emrRedirect().toString());
          noCode(o, "code_challenge_method=plain");
          return o.redirect == null ? "refused with HTTP " + o.status : "refused: error=" + o.param("error").orElse("?");
        });
    s.check("sofa.authz.redirect-exact", "An unregistered redirect URI is never followed",
        Rule.of("The server does not redirect to a redirect_uri that does not exactly match a registered one",
            "RFC 6749 §3.1.2.3, §4.1.2.1; RFC 9700 §4.1"), needs, () -> {
          String bad = t.emrRedirect() + "x";
          Pkce p = Pkce.create();
          Browser.Outcome o = browser.authorize(authorizeUrl(t.emrClientId(), bad, t.emrScopes(), Pkce.random(16),
              p.challenge, "S256", t.fhirBase().toString(), null, null), bad);
          require(o.redirect == null, "the server redirected to the unregistered URI " + Redact.query(o.redirect + ""));
          return "not followed (HTTP " + o.status + ")";
        });
    s.check("sofa.authz.aud-checked", "An authorization for another audience is refused",
        Rule.of("aud must name this FHIR server; a request for another resource server gets no code",
            SMART + ", App Launch (authorization request: aud)"), needs, () -> {
          Pkce p = Pkce.create();
          Browser.Outcome o = browser.authorize(authorizeUrl(t.emrClientId(), t.emrRedirect().toString(),
              t.emrScopes(), Pkce.random(16), p.challenge, "S256", "https://not-this-server.invalid/fhir", null, null),
              t.emrRedirect().toString());
          noCode(o, "aud=https://not-this-server.invalid/fhir");
          return o.redirect == null ? "refused with HTTP " + o.status : "refused: error=" + o.param("error").orElse("?");
        });
    s.check("sofa.authz.sign-in", "Clinician sign-in with code + PKCE; state echoed",
        Rule.of("A valid request signs the user in and redirects to the registered URI with a code and the same state",
            "HALO CA:SoFA (clinician sign-in at the jurisdictional IdP); RFC 6749 §4.1.2"), needs, () -> {
          Pkce p = Pkce.create();
          String state = Pkce.random(16);
          emrNonce = Pkce.random(16);
          Browser.Outcome o = browser.authorize(authorizeUrl(t.emrClientId(), t.emrRedirect().toString(), t.emrScopes(),
              state, p.challenge, "S256", t.fhirBase().toString(), null, emrNonce), t.emrRedirect().toString());
          require(o.redirect != null, "the sign-in did not come back to the redirect URI (last HTTP " + o.status + ")");
          require(o.param("code").isPresent(), "no code: " + Redact.query(o.redirect.toString()));
          require(state.equals(o.param("state").orElse(null)), "state was not echoed unchanged");
          Http.Response r = redeem(o.param("code").get(), t.emrRedirect().toString(), p.verifier, true);
          require(r.status == 200, "the token request answered " + r.status);
          emrTokens = r.json();
          emrToken = emrTokens.path("access_token").asText(null);
          require(emrToken != null, "no access_token");
          return "signed in; code and state came back, tokens issued";
        });
  }


  // ---------------------------------------------------------------- token endpoint

  private void tokens() {
    List<String> signIn = List.of("sofa.authz.sign-in");
    s.check("sofa.token.response", "Token response fields and no-store",
        Rule.of("The token response has access_token, token_type Bearer, expires_in, scope, and Cache-Control: no-store",
            "RFC 6749 §5.1; " + SMART + ", App Launch (access token response)"), signIn, () -> {
          List<String> wrong = new ArrayList<>();
          if (!emrTokens.path("access_token").isTextual()) {
            wrong.add("access_token");
          }
          if (!"bearer".equalsIgnoreCase(emrTokens.path("token_type").asText())) {
            wrong.add("token_type=" + emrTokens.path("token_type").asText());
          }
          if (!emrTokens.path("expires_in").isNumber()) {
            wrong.add("expires_in");
          }
          if (!emrTokens.path("scope").isTextual()) {
            wrong.add("scope");
          }
          require(wrong.isEmpty(), "missing or wrong: " + wrong);
          // the answer's headers: ask again for a fresh one (the first was read in sign-in)
          String[] c = emrCode(browser);
          Http.Response r = redeem(c[0], t.emrRedirect().toString(), c[1], true);
          require(r.status == 200, "a second sign-in's token request answered " + r.status);
          require(r.header("cache-control").orElse("").contains("no-store"), "no Cache-Control: no-store on the token response");
          return "fields present; Cache-Control " + r.header("cache-control").orElse("");
        });
    s.check("sofa.token.code-single-use", "An authorization code works once",
        Rule.of("A code redeemed a second time is refused with invalid_grant", "RFC 6749 §4.1.2, §10.5"), signIn, () -> {
          String[] c = emrCode(browser);
          Http.Response first = redeem(c[0], t.emrRedirect().toString(), c[1], true);
          require(first.status == 200, "the first redemption answered " + first.status);
          Http.Response r = redeem(c[0], t.emrRedirect().toString(), c[1], true);
          require(r.status != 200 && !r.body.contains("access_token"), "the code was accepted a second time");
          oauthError(r, "invalid_grant");
          String firstToken = first.json().path("access_token").asText();
          Http.Response use = http.getFhir(fhir("Patient?_count=1"), firstToken);
          if (use.status != 401) {
            return "second use refused: invalid_grant (the first redemption's token was not revoked: RFC 6749 §4.1.2"
                + " says it SHOULD be)";
          }
          return "second use refused: invalid_grant; the first redemption's token revoked";
        });
    s.check("sofa.token.pkce-verified", "The code verifier is checked",
        Rule.of("A token request whose code_verifier does not match the challenge is refused with invalid_grant",
            "RFC 7636 §4.6"), signIn, () -> {
          String[] c = emrCode(browser);
          Http.Response r = redeem(c[0], t.emrRedirect().toString(), Pkce.random(32), true);
          require(r.status != 200, "a wrong code_verifier was accepted");
          oauthError(r, "invalid_grant");
          return "wrong verifier refused: invalid_grant";
        });
    s.check("sofa.token.redirect-match", "The token request's redirect_uri must match",
        Rule.of("A redirect_uri differing from the authorization request's is refused with invalid_grant",
            "RFC 6749 §4.1.3"), signIn, () -> {
          String[] c = emrCode(browser);
          Http.Response r = redeem(c[0], t.emrRedirect() + "x", c[1], true);
          require(r.status != 200, "a different redirect_uri was accepted");
          oauthError(r, "invalid_grant");
          return "refused: invalid_grant";
        });
    s.check("sofa.token.error-body", "OAuth errors as RFC 6749 bodies",
        Rule.of("Token errors are 400 JSON {error, error_description?} with Cache-Control: no-store",
            "RFC 6749 §5.2"), List.of("sofa.discovery.served"), () -> {
          Http.Response r = token(Map.of("grant_type", "urn:example:not-a-grant"), true);
          require(r.status == 400, "expected 400, got " + r.status);
          oauthError(r, "unsupported_grant_type");
          return "400 unsupported_grant_type, no-store";
        });
    s.check("sofa.idtoken.valid", "id_token signed, for this client, with fhirUser",
        Rule.of("The id_token's signature verifies with a key of jwks_uri (by kid), iss is the issuer, aud the client,"
            + " nonce echoed, and fhirUser is present when fhirUser was asked", "OpenID Connect Core §3.1.3.7; "
            + SMART + ", Scopes and Launch Context (fhirUser)"), signIn, () -> {
          String idt = emrTokens.path("id_token").asText(null);
          if (idt == null) {
            throw t.emrScopes().contains("openid") ? new CheckFailure("openid was asked, no id_token came back")
                : skip("openid not asked");
          }
          SignedJWT jwt = SignedJWT.parse(idt);
          String kid = jwt.getHeader().getKeyID();
          require(kid != null, "the id_token header has no kid");
          Http.Response keys = http.get(endpoint("jwks_uri"), "Accept", "application/json");
          require(keys.status == 200, "jwks_uri answered " + keys.status);
          JWKSet set = JWKSet.parse(keys.body);
          JWK key = set.getKeyByKeyId(kid);
          require(key != null, "no key with kid " + kid + " at jwks_uri");
          JWSVerifier v = new DefaultJWSVerifierFactory().createJWSVerifier(jwt.getHeader(),
              key.getKeyType().getValue().equals("RSA") ? key.toRSAKey().toPublicKey() : key.toECKey().toPublicKey());
          require(jwt.verify(v), "the id_token's signature does not verify");
          JWTClaimsSet c = jwt.getJWTClaimsSet();
          String issuer = smart.path("issuer").asText(null);
          require(issuer == null || issuer.equals(c.getIssuer()), "iss " + c.getIssuer() + " is not the issuer " + issuer);
          require(c.getAudience().contains(t.emrClientId()), "aud " + c.getAudience() + " lacks the client id");
          require(c.getExpirationTime() != null && c.getExpirationTime().getTime() > System.currentTimeMillis(), "expired or no exp");
          require(emrNonce.equals(c.getStringClaim("nonce")), "nonce not echoed");
          if (t.emrScopes().contains("fhirUser")) {
            require(c.getClaim("fhirUser") != null, "fhirUser asked, no fhirUser claim");
          }
          return jwt.getHeader().getAlgorithm() + ", kid " + kid + ", fhirUser " + c.getClaim("fhirUser");
        });
    s.check("sofa.token.refresh-subset", "Refresh: same or fewer scopes, never more",
        Rule.of("A refresh may narrow the scope; it never grants a scope beyond the original grant",
            "RFC 6749 §6; " + SMART + ", App Launch (refresh access token)"), signIn, () -> {
          String rt = emrTokens.path("refresh_token").asText(null);
          if (rt == null) {
            throw skip("no refresh_token issued (offline_access or online_access not granted)");
          }
          List<String> granted = Arrays.asList(emrTokens.path("scope").asText().split(" "));
          String narrower = granted.contains("openid") ? String.join(" ", granted.subList(0, Math.max(1, granted.size() - 1)))
              : granted.get(0);
          Http.Response wide = token(Map.of("grant_type", "refresh_token", "refresh_token", rt,
              "scope", String.join(" ", granted) + " system/*.cruds"), true);
          String note;
          if (wide.status == 200) {
            // RFC 6749 §6 forbids the wider request; what must never happen is a token beyond the grant
            Set<String> got = new HashSet<>(Arrays.asList(wide.json().path("scope").asText("").split(" ")));
            require(!got.contains("system/*.cruds") && new HashSet<>(granted).containsAll(got),
                "a refresh asking beyond the grant got " + got);
            rt = wide.json().path("refresh_token").asText(rt);
            note = "wider request narrowed to the grant (invalid_scope, RFC 6749 §5.2, would be clearer)";
          } else {
            oauthError(wide, "invalid_scope");
            note = "wider refused (invalid_scope)";
          }
          Http.Response r = token(Map.of("grant_type", "refresh_token", "refresh_token", rt, "scope", narrower), true);
          if (r.status == 400 && r.body.contains("invalid_grant")) {
            throw new CheckFailure("the refused refresh consumed the refresh token; the narrower one got invalid_grant");
          }
          require(r.status == 200, "a narrower refresh answered " + r.status);
          Set<String> got = new HashSet<>(Arrays.asList(r.json().path("scope").asText(narrower).split(" ")));
          require(new HashSet<>(granted).containsAll(got), "the refreshed scope " + got + " exceeds the grant");
          JsonNode nt = r.json();
          emrToken = nt.path("access_token").asText(emrToken);
          return note + "; narrower granted " + got;
        });
    s.check("sofa.introspect", "Introspection of the EMR's token",
        Rule.of("The introspection endpoint says active with scope and client_id for a live token, and active=false"
            + " for an unknown one", "RFC 7662 §2.2; HALO CA:SoFA flow step 4"), signIn, () -> {
          URI ie = endpoint("introspection_endpoint");
          if (t.emrClientSecret().isEmpty()) {
            throw skip("introspection needs a confidential EMR client");
          }
          Http.Response r = http.postForm(ie, Map.of("token", emrToken), "Accept", "application/json",
              "Authorization", Http.basic(t.emrClientId(), t.emrClientSecret().get()));
          require(r.status == 200, "introspection answered " + r.status);
          JsonNode j = r.json();
          require(j.path("active").asBoolean(false), "a live token is not active");
          require(j.path("scope").isTextual(), "no scope in the introspection answer");
          Http.Response bad = http.postForm(ie, Map.of("token", "not-a-token-" + Pkce.random(8)), "Accept",
              "application/json", "Authorization", Http.basic(t.emrClientId(), t.emrClientSecret().get()));
          require(bad.status == 200 && !bad.json().path("active").asBoolean(true), "an unknown token is not active=false");
          return "active with scope; unknown token active=false";
        });
  }

  private static void oauthError(Http.Response r, String code) {
    require(r.isJson(), "the error body is not JSON (RFC 6749 §5.2)");
    String e = r.json().path("error").asText("");
    require(e.equals(code), "expected error " + code + ", got '" + e + "'");
    require(r.header("cache-control").orElse("").contains("no-store"), "the error lacks Cache-Control: no-store");
  }

  // ---------------------------------------------------------------- $set-context

  private Http.Response setContext(String body, String token) {
    return http.postFhir(fhir("$set-context"), body, token);
  }

  private String launchIdOf(Http.Response r, Map<String, String> map, Fhir.Upload u) {
    JsonNode p = r.json();
    require("Parameters".equals(p.path("resourceType").asText()), "the answer is not a Parameters");
    String id = Fhir.part(p, "launchID").flatMap(Fhir::value).orElse(null);
    require(id != null && !id.isEmpty(), "no launchID in the answer");
    JsonNode bundle = Fhir.part(p, "resourcesResponse").map(x -> x.path("resource")).orElse(null);
    require(bundle != null && "Bundle".equals(bundle.path("resourceType").asText()), "no resourcesResponse Bundle");
    require("transaction-response".equals(bundle.path("type").asText()), "resourcesResponse type is " + bundle.path("type").asText());
    JsonNode entries = bundle.path("entry");
    require(entries.size() == 3, "3 resources sent, " + entries.size() + " response entries");
    String[] uuids = {u.patientUuid, u.encounterUuid, u.conditionUuid};
    for (int i = 0; i < entries.size(); i++) {
      JsonNode resp = entries.get(i).path("response");
      for (String f : List.of("location", "etag", "lastModified")) {
        require(resp.path(f).isTextual(), "entry " + i + " has no response." + f);
      }
      map.put(uuids[i], Fhir.typeOf(resp.path("location").asText()) + "/" + Fhir.idOf(resp.path("location").asText()));
    }
    return id;
  }

  /** Nothing of an upload is found by the EMR after a refused call. */
  private void nothingStored(Fhir.Upload u) {
    Http.Response r = http.getFhir(fhir("Patient?identifier=urn:halo-conformance%7C" + u.marker), emrToken);
    require(r.status == 200, "the check search answered " + r.status);
    require(r.json().path("entry").size() == 0, "the refused upload left its Patient stored");
  }

  private void refused(String id, String title, String ruleText, String source, int[] statuses,
      java.util.function.Consumer<Fhir.Upload> breakIt) {
    s.check(id, title, Rule.of(ruleText + "; the answer is an OperationOutcome and nothing is stored", source),
        List.of("sofa.set-context.accepted"), () -> {
          Fhir.Upload u = new Fhir.Upload(t.appId());
          breakIt.accept(u);
          Http.Response r = setContext(u.json(), emrToken);
          boolean ok = false;
          for (int st : statuses) {
            ok |= r.status == st;
          }
          require(ok, "expected HTTP " + Arrays.toString(statuses) + ", got " + r.status);
          require(r.isJson() && "OperationOutcome".equals(r.json().path("resourceType").asText()),
              "the error body is not an OperationOutcome");
          nothingStored(u);
          return "HTTP " + r.status + ", OperationOutcome, nothing stored";
        });
  }

  private void setContext() {
    List<String> signIn = List.of("sofa.authz.sign-in");
    s.check("sofa.set-context.unauthenticated", "$set-context without a token",
        Rule.of("A call without a Bearer token is 401 with WWW-Authenticate: Bearer and reads nothing",
            SET + " (decision: 401); RFC 6750 §3"), NONE, () -> {
          Http.Response r = setContext(new Fhir.Upload(t.appId()).json(), null);
          require(r.status == 401, "expected 401, got " + r.status);
          require(r.header("www-authenticate").orElse("").toLowerCase(Locale.ROOT).startsWith("bearer"),
              "no WWW-Authenticate: Bearer");
          return "401, WWW-Authenticate " + r.header("www-authenticate").orElse("");
        });
    s.check("sofa.set-context.accepted", "$set-context with references and a transaction Bundle",
        Rule.of("A valid call answers 200 Parameters with launchID and a transaction-response with location, etag and"
            + " lastModified per entry", SET + " (set-context-output-parameters)"), signIn, () -> {
          uploadA = new Fhir.Upload(t.appId());
          Http.Response r = setContext(uploadA.json(), emrToken);
          require(r.status == 200, "expected 200, got " + r.status);
          launchA = launchIdOf(r, mapA, uploadA);
          return "launchID received, " + mapA.size() + " resources mapped";
        });
    s.check("sofa.set-context.launch-id", "launchID is opaque and unguessable",
        Rule.of("launchID carries at least 128 random bits (22+ URL-safe characters) and differs per call",
            SET + " (decision: launchID); SMART App Launch 2.1, App Launch (launch parameter)"), List.of("sofa.set-context.accepted"), () -> {
          uploadB = new Fhir.Upload(t.appId());
          Http.Response r = setContext(uploadB.json(), emrToken);
          require(r.status == 200, "a second call answered " + r.status);
          launchB = launchIdOf(r, mapB, uploadB);
          require(!launchA.equals(launchB), "two calls gave the same launchID");
          require(launchA.length() >= 22 && launchA.matches("[A-Za-z0-9_.~-]+"),
              "launchID of " + launchA.length() + " characters, or not URL-safe");
          require(!launchA.contains(mapA.get(uploadA.patientUuid).split("/")[1]), "launchID contains the patient's id");
          return launchA.length() + " URL-safe characters, distinct per call";
        });
    refused("sofa.set-context.unknown-parameter", "Unknown input parameter refused",
        "An input parameter the operation does not define is refused with 400", SET + " (decision: unknown names 400)",
        new int[] {400}, u -> u.extraParameters = ",{\"name\":\"not-a-halo-parameter\",\"valueString\":\"x\"}");
    refused("sofa.set-context.bundle-type", "resources not a transaction refused",
        "The resources Bundle must be of type transaction", SET + " (SetContextTransactionBundle: type=transaction)",
        new int[] {400, 422}, u -> u.bundleType = "collection");
    refused("sofa.set-context.entry-method", "An entry that is not a POST refused",
        "Every entry of the resources Bundle has request.method POST", SET + " (SetContextTransactionBundle)",
        new int[] {400, 422}, u -> u.patientMethod = "PUT");
    refused("sofa.set-context.unsupported-type", "Unsupported resource type refused",
        "The SoFA rejects resource types it does not support", SET + " (SHALL reject unsupported types)",
        new int[] {400, 422}, u -> {
          u.patientType = "Account";
          u.patientParameter = "Patient/" + "missing-" + UUID.randomUUID();
        });
    refused("sofa.set-context.wrong-target", "patient pointing at an Encounter refused",
        "patient must reference a Patient", SET + " (decision: patient -> Patient)",
        new int[] {400, 422}, u -> u.patientParameter = u.encounterUuid);
    refused("sofa.set-context.unknown-reference", "Reference to an unknown resource refused",
        "A reference that is neither an entry nor an existing SoFA resource is refused", SET + " (decision: 404)",
        new int[] {404, 400, 422}, u -> u.patientParameter = "Patient/kit-missing-" + UUID.randomUUID());
    s.check("sofa.set-context.not-parameters", "A body that is not Parameters refused",
        Rule.of("A body that does not parse as a Parameters is 400 (or 415) with an OperationOutcome", SET),
        List.of("sofa.set-context.accepted"), () -> {
          Http.Response r = setContext("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"x\"}]}", emrToken);
          require(r.status == 400 || r.status == 415 || r.status == 422, "expected 400, got " + r.status);
          require(r.isJson() && "OperationOutcome".equals(r.json().path("resourceType").asText()),
              "the error body is not an OperationOutcome");
          return "HTTP " + r.status;
        });
  }

  // ---------------------------------------------------------------- launch

  private void launch() {
    s.check("sofa.launch.context", "The app's token response carries the context",
        Rule.of("An app authorized with launch=launchID gets patient, encounter, fhirContext, need_patient_banner and"
            + " intent as set", SET + "; " + SMART + ", Scopes and Launch Context (launch context in the token response)"), List.of("sofa.set-context.launch-id"), () -> {
          Pkce p = Pkce.create();
          String state = Pkce.random(16);
          Browser.Outcome o = browser.authorize(authorizeUrl(t.appClientId(), t.appRedirect().toString(), t.appScopes(),
              state, p.challenge, "S256", t.fhirBase().toString(), launchA, Pkce.random(16)), t.appRedirect().toString());
          require(o.redirect != null && o.param("code").isPresent(), "the app got no code (last HTTP " + o.status + ")");
          require(state.equals(o.param("state").orElse(null)), "state not echoed");
          Http.Response r = redeem(o.param("code").get(), t.appRedirect().toString(), p.verifier, false);
          require(r.status == 200, "the app's token request answered " + r.status);
          JsonNode j = r.json();
          appToken = j.path("access_token").asText(null);
          appPatient = j.path("patient").asText("");
          String wantP = mapA.get(uploadA.patientUuid).split("/")[1];
          String wantE = mapA.get(uploadA.encounterUuid).split("/")[1];
          require(wantP.equals(appPatient), "patient is '" + appPatient + "', the upload's Patient is " + wantP);
          require(wantE.equals(j.path("encounter").asText()), "encounter is '" + j.path("encounter").asText() + "'");
          boolean found = false;
          for (JsonNode c : j.path("fhirContext")) {
            found |= mapA.get(uploadA.conditionUuid).equals(c.path("reference").asText());
          }
          require(found, "fhirContext " + j.path("fhirContext") + " lacks " + mapA.get(uploadA.conditionUuid));
          require(j.path("need_patient_banner").asBoolean(false), "need_patient_banner not passed on");
          require("halo-conformance".equals(j.path("intent").asText()), "intent not passed on");
          return "patient, encounter, fhirContext, need_patient_banner, intent as set";
        });
    List<String> launched = List.of("sofa.launch.context");
    s.check("sofa.launch.read", "The app reads its patient",
        Rule.of("The app's token reads the context's Patient", "HALO SoFA flow step 9"), launched, () -> {
          Http.Response r = http.getFhir(fhir("Patient/" + appPatient), appToken);
          require(r.status == 200, "reading Patient/" + appPatient + " answered " + r.status);
          require(r.body.contains(uploadA.marker), "the Patient read back is not the uploaded one");
          return "Patient read back";
        });
    s.check("sofa.launch.isolation", "A launch sees nothing of another launch",
        Rule.of("The app launched on one context cannot read or find the resources of another context",
            SET + " (decision: sessions isolated); HALO privacy"), launched, () -> {
          String other = mapB.get(uploadB.patientUuid);
          Http.Response r = http.getFhir(fhir(other), appToken);
          require(r.status != 200, "the app read " + other + " of another launch");
          Http.Response q = http.getFhir(fhir("Patient?identifier=urn:halo-conformance%7C" + uploadB.marker), appToken);
          require(q.status != 200 || q.json().path("entry").size() == 0, "a search found the other launch's Patient");
          return "read answered " + r.status + ", search found nothing";
        });
  }

  // ---------------------------------------------------------------- subscriptions

  private String subscriptionJson(String filter, String channel, String endpoint, int heartbeat) {
    String bp = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
    return "{\"resourceType\":\"Subscription\",\"meta\":{\"profile\":[\"" + bp + "backport-subscription\"]},"
        + "\"status\":\"requested\",\"reason\":\"HALO conformance kit\",\"criteria\":" + Fhir.q(t.topic())
        + (filter == null ? "" : ",\"_criteria\":{\"extension\":[{\"url\":\"" + bp + "backport-filter-criteria\","
            + "\"valueString\":" + Fhir.q(filter) + "}]}")
        + ",\"channel\":{\"extension\":[{\"url\":\"" + bp + "backport-heartbeat-period\",\"valueUnsignedInt\":" + heartbeat
        + "}],\"type\":" + Fhir.q(channel) + (endpoint == null ? "" : ",\"endpoint\":" + Fhir.q(endpoint))
        + ",\"payload\":\"application/fhir+json\",\"_payload\":{\"extension\":[{\"url\":\"" + bp
        + "backport-payload-content\",\"valueCode\":\"id-only\"}]}}}";
  }

  private Socket bind(String subId, String token) throws InterruptedException {
    Http.Response r = http.postFhir(fhir("Subscription/" + subId + "/$get-ws-binding-token"),
        "{\"resourceType\":\"Parameters\"}", token);
    require(r.status == 200, "$get-ws-binding-token answered " + r.status);
    JsonNode p = r.json();
    String tok = Fhir.part(p, "token").flatMap(Fhir::value).orElse(null);
    String url = Fhir.part(p, "websocket-url").flatMap(Fhir::value).orElse(null);
    require(tok != null, "no token part");
    require(url != null, "no websocket-url part");
    require(Fhir.part(p, "expiration").isPresent(), "no expiration part");
    Socket so = Socket.connect(trust.require(URI.create(url), "the websocket-url"));
    so.send("bind-with-token " + tok);
    return so;
  }

  private String appWrite() {
    String marker = "kit-obs-" + UUID.randomUUID();
    Http.Response w = http.postFhir(fhir("Observation"), Fhir.observation(appPatient, marker), appToken);
    require(w.status == 201 || w.status == 200, "the app's write answered " + w.status);
    String loc = w.header("location").orElseThrow(() -> new CheckFailure("the app's create has no Location"));
    String ref = "Observation/" + Fhir.idOf(loc);
    written.add(ref);
    return ref;
  }

  private void subscriptions() {
    List<String> launched = List.of("sofa.launch.context");
    s.check("sofa.subscription.create", "The PoC subscribes to the HALO topic for its launch",
        Rule.of("A backport Subscription on the HALO topic with a launch filter is accepted (201) from the PoC",
            FSUB + " (Subscription Requester / Manager); Subscriptions Backport IG"), List.of("sofa.set-context.accepted"), () -> {
          Http.Response r = http.postFhir(fhir("Subscription"), subscriptionJson("?launch=" + launchA, "websocket", null, 2),
              emrToken);
          require(r.status == 201, "expected 201, got " + r.status);
          subscriptionId = Fhir.idOf(r.header("location").orElseGet(() -> "Subscription/" + r.json().path("id").asText()));
          return "Subscription/" + subscriptionId;
        });
    s.check("sofa.subscription.handshake", "Websocket binding and handshake",
        Rule.of("$get-ws-binding-token (POST) answers token, expiration and websocket-url; binding with the token"
            + " brings a handshake and the subscription is active", FSUB + " (HALO 1.1.0: POST); Backport IG §websockets"),
        List.of("sofa.subscription.create"), () -> {
          socket = bind(subscriptionId, emrToken);
          Fhir.Status h = socket.awaitType("handshake", Duration.ofSeconds(10));
          require(h != null, "no handshake within 10 s of binding");
          Http.Response r = http.getFhir(fhir("Subscription/" + subscriptionId), emrToken);
          require(r.status == 200 && "active".equals(r.json().path("status").asText()),
              "the subscription is not active after the handshake (" + r.json().path("status").asText() + ")");
          return "handshake received; active";
        });
    List<String> bound = List.of("sofa.subscription.handshake", "sofa.launch.context");
    s.check("sofa.subscription.events-numbered", "Write-backs notified in order, numbered without gaps",
        Rule.of("Each change the topic covers is notified with event numbers 1, 2, ... and its focus",
            FSUB + " (SOFA Content Update topic); Backport IG §event numbering"), bound, () -> {
          String first = appWrite();
          Fhir.Status e1 = socket.awaitType("event-notification", Duration.ofSeconds(10));
          require(e1 != null, "no notification within 10 s of the app's write");
          String second = appWrite();
          Fhir.Status e2 = socket.awaitType("event-notification", Duration.ofSeconds(10));
          require(e2 != null, "no notification within 10 s of the second write");
          Map<Long, String> all = new LinkedHashMap<>(e1.events);
          all.putAll(e2.events);
          require(all.containsKey(1L) && all.containsKey(2L), "event numbers seen: " + all.keySet() + ", expected 1 and 2");
          require(all.size() == 2, "event numbers seen: " + all.keySet());
          require(all.get(1L).endsWith(first) && all.get(2L).endsWith(second), "focus " + all + ", expected "
              + first + " then " + second);
          require(e2.eventsSinceStart == 2, "events-since-subscription-start is " + e2.eventsSinceStart + ", expected 2");
          return "events 1, 2 with their focus";
        });
    s.check("sofa.subscription.heartbeat", "Heartbeats on a quiet channel",
        Rule.of("With backport-heartbeat-period set, a heartbeat arrives when nothing else was sent",
            "Backport IG (backport-heartbeat-period); " + FSUB), List.of("sofa.subscription.handshake"), () -> {
          Fhir.Status h = socket.awaitType("heartbeat", Duration.ofSeconds(8));
          require(h != null, "no heartbeat within 8 s with a 2 s heartbeat period");
          return "heartbeat received";
        });
    s.check("sofa.subscription.status", "$status", Rule.of("$status answers the SubscriptionStatus with"
        + " events-since-subscription-start", "Backport IG ($status); " + FSUB), List.of("sofa.subscription.events-numbered"), () -> {
          Http.Response r = http.getFhir(fhir("Subscription/" + subscriptionId + "/$status"), emrToken);
          require(r.status == 200, "$status answered " + r.status);
          JsonNode b = r.json();
          JsonNode st = "Bundle".equals(b.path("resourceType").asText()) ? b.path("entry").path(0).path("resource") : b;
          Fhir.Status x = Fhir.status(st);
          require(x.eventsSinceStart == 2, "events-since-subscription-start is " + x.eventsSinceStart + ", expected 2");
          return x.toString();
        });
    s.check("sofa.subscription.events", "$events recovers missed events",
        Rule.of("$events with eventsSinceNumber answers the events from that number, with their focus",
            "Backport IG ($events); " + FSUB), List.of("sofa.subscription.events-numbered"), () -> {
          Http.Response r = http.getFhir(fhir("Subscription/" + subscriptionId + "/$events?eventsSinceNumber=1"), emrToken);
          require(r.status == 200, "$events answered " + r.status);
          Fhir.Status x = Fhir.status(r.json());
          require(x.events.keySet().containsAll(List.of(1L, 2L)), "events " + x.events.keySet() + ", expected 1 and 2");
          require(x.events.get(2L).endsWith(written.get(1)), "event 2's focus is " + x.events.get(2L));
          return x.toString();
        });
    s.check("sofa.subscription.visibility", "Another clinician's subscription hears nothing of this session",
        Rule.of("A subscriber is sent only what its own principal could read (no event of another clinician's"
            + " session, by any channel or $events), or is refused the subscription (403)",
            FSUB + " (decision: who sees what); HALO privacy"), List.of("sofa.subscription.events-numbered"), () -> {
          String other = secondToken();
          Http.Response r = http.postFhir(fhir("Subscription"), subscriptionJson(null, "websocket", null, 60), other);
          if (r.status == 403) {
            return "an unfiltered subscription by another clinician is refused (403)";
          }
          require(r.status == 201, "expected 201 or 403, got " + r.status);
          String id = Fhir.idOf(r.header("location").orElseGet(() -> "Subscription/" + r.json().path("id").asText()));
          try (Socket other2 = bind(id, other)) {
            require(other2.awaitType("handshake", Duration.ofSeconds(10)) != null, "no handshake for the second clinician");
            String ref = appWrite();
            Fhir.Status e = other2.awaitType("event-notification", Duration.ofSeconds(3));
            require(e == null || !e.events.values().stream().anyMatch(f -> f.endsWith(ref)),
                "the second clinician was notified of " + ref + " from another session");
            Http.Response ev = http.getFhir(fhir("Subscription/" + id + "/$events?eventsSinceNumber=1"), other);
            require(ev.status != 200 || !ev.body.contains(ref), "$events showed the other session's " + ref);
            socket.awaitType("event-notification", Duration.ofSeconds(5)); // the owner's, drained
            return "nothing of the session reached the second clinician";
          } finally {
            http.send("DELETE", fhir("Subscription/" + id), null, null, "Authorization", "Bearer " + other);
          }
        });
    s.check("sofa.subscription.rest-hook", "Rest-hook handshake and delivery",
        Rule.of("A rest-hook subscription is handshaken at its endpoint and then sent the topic's events",
            FSUB + " (SHALL support rest-hook and websocket)"), launched, () -> {
          String host = t.hookHost().orElseThrow(() -> skip("no --hook-host: the SoFA cannot reach this machine"));
          try (HookReceiver h = HookReceiver.start(host)) {
            Http.Response r = http.postFhir(fhir("Subscription"),
                subscriptionJson("?launch=" + launchA, "rest-hook", h.url(), 60)
                    .replace("\"type\":\"rest-hook\"", "\"type\":\"rest-hook\",\"header\":[\"Authorization: Bearer " + h.secret + "\"]"),
                emrToken);
            require(r.status == 201, "expected 201, got " + r.status);
            String id = Fhir.idOf(r.header("location").orElseGet(() -> "Subscription/" + r.json().path("id").asText()));
            try {
              require(h.await("handshake", Duration.ofSeconds(10)) != null, "no handshake reached " + h.url());
              String ref = appWrite();
              Fhir.Status e = h.await("event-notification", Duration.ofSeconds(10));
              require(e != null, "no event reached the rest-hook within 10 s");
              require(e.events.values().stream().anyMatch(f -> f.endsWith(ref)), "the event names " + e.events);
              socket.awaitType("event-notification", Duration.ofSeconds(5)); // the websocket's copy, drained
              return "handshake and event delivered to " + h.url();
            } finally {
              http.send("DELETE", fhir("Subscription/" + id), null, null, "Authorization", "Bearer " + emrToken);
            }
          }
        });
  }

  private String secondToken() {
    if (emr2Token != null) {
      return emr2Token;
    }
    String u = t.username2().orElseThrow(() -> skip("no second test sign-in given"));
    Browser b2 = new Browser(u, t.password2().orElseThrow(), trust);
    String[] c = emrCode(b2);
    Http.Response r = redeem(c[0], t.emrRedirect().toString(), c[1], true);
    require(r.status == 200, "the second clinician's token request answered " + r.status);
    emr2Token = r.json().path("access_token").asText();
    return emr2Token;
  }

  // ---------------------------------------------------------------- $clear-context

  private Http.Response clearContext(String launch, String token) {
    return http.postFhir(fhir("$clear-context"), "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"launchID\","
        + "\"valueString\":" + Fhir.q(launch) + "}]}", token);
  }

  private void clear() {
    List<String> set = List.of("sofa.set-context.accepted");
    s.check("sofa.clear-context.foreign", "Another clinician cannot clear the context",
        Rule.of("Only the caller bound to the launchID may clear it; anyone else gets 404 (or 403) and nothing changes",
            CLEAR + " (decision: ownership)"), set, () -> {
          String other = secondToken();
          Http.Response r = clearContext(launchA, other);
          require(r.status == 404 || r.status == 403, "expected 404 or 403, got " + r.status);
          if (appToken != null) {
            Http.Response still = http.getFhir(fhir("Patient/" + appPatient), appToken);
            require(still.status == 200, "after the refused clear the app can no longer read its patient (" + still.status + ")");
          }
          return "HTTP " + r.status + "; the context is intact";
        });
    s.check("sofa.clear-context.unknown", "Clearing an unknown launchID",
        Rule.of("An unknown launchID answers 404 with an OperationOutcome", CLEAR + " (decision: 404)"), set, () -> {
          Http.Response r = clearContext("kit-unknown-" + Pkce.random(16), emrToken);
          require(r.status == 404, "expected 404, got " + r.status);
          require(r.isJson() && "OperationOutcome".equals(r.json().path("resourceType").asText()), "no OperationOutcome");
          return "404 OperationOutcome";
        });
    s.check("sofa.clear-context.owner", "The owner clears the context",
        Rule.of("$clear-context by the owner answers 200 with OperationOutcome(s)", CLEAR), set, () -> {
          Http.Response r = clearContext(launchA, emrToken);
          require(r.status == 200, "expected 200, got " + r.status);
          String rt = r.json().path("resourceType").asText();
          require(rt.equals("OperationOutcome") || rt.equals("Parameters"), "the answer is a " + rt);
          return "200 " + rt;
        });
    s.check("sofa.clear-context.deleted", "Nothing of the session is left; its tokens end",
        Rule.of("After the clear, the context's resources (the PoC's and the app's write-backs) are gone, the app's"
            + " token no longer reads, and a second clear answers 404", CLEAR + " (deletes every resource of the session)"),
        List.of("sofa.clear-context.owner"), () -> {
          List<String> left = new ArrayList<>();
          List<String> refs = new ArrayList<>(mapA.values());
          refs.addAll(written);
          for (String ref : refs) {
            Http.Response r = http.getFhir(fhir(ref), emrToken);
            if (r.status == 200) {
              left.add(ref);
            }
          }
          require(left.isEmpty(), "still readable after the clear: " + left);
          if (appToken != null) {
            Http.Response r = http.getFhir(fhir("Patient/" + appPatient), appToken);
            require(r.status == 401 || r.status == 403 || r.status == 404, "the app's token still reads (" + r.status + ")");
          }
          Http.Response again = clearContext(launchA, emrToken);
          require(again.status == 404, "a second clear answered " + again.status);
          if (launchB != null) {
            clearContext(launchB, emrToken);
          }
          return refs.size() + " resources gone; app token refused; second clear 404";
        });
  }

  // ---------------------------------------------------------------- helpers

  private static void url(JsonNode n, String field, List<String> wrong) {
    String v = n.path(field).asText("");
    if (!n.path(field).isTextual() || !(v.startsWith("https://") || v.startsWith("http://"))) {
      wrong.add(field);
    }
  }

  private static void array(JsonNode n, String field, List<String> wrong) {
    if (!n.path(field).isArray()) {
      wrong.add(field);
    }
  }

  static Set<String> texts(JsonNode array) {
    Set<String> out = new HashSet<>();
    for (JsonNode x : array) {
      out.add(x.asText());
    }
    return out;
  }
}
