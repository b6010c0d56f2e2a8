package ca.halo.conformance.internal;

import static ca.halo.conformance.internal.Suite.require;

import ca.halo.conformance.CheckResult;
import ca.halo.conformance.Rule;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** The {@code poc} target's checks, read from what the kit's SoFA recorded of the EMR. */
public final class PocChecks {
  private static final String SET = "HALO CA:SoFA-1 Set Context";
  private static final Set<String> INPUTS = Set.of("appID", "patient", "encounter", "fhirContext", "fhirUser",
      "need_patient_banner", "intent", "smart_style_url", "tenant", "resources");
  private static final Map<String, Set<String>> TARGETS = Map.of("patient", Set.of("Patient"),
      "encounter", Set.of("Encounter"), "fhirUser", Set.of("Practitioner", "PractitionerRole"));

  private PocChecks() {}

  public static List<CheckResult> evaluate(PocState st, Consumer<CheckResult> progress) {
    Suite s = new Suite(progress);
    List<RecordingProxy.Exchange> all = st.proxy.exchanges();
    s.check("poc.sign-in.pkce", "The clinician's sign-in uses code + PKCE S256, state and aud",
        Rule.of("The EMR's authorization request has response_type=code, code_challenge with method S256, an"
            + " unguessable state and aud = the SoFA's FHIR base", "RFC 7636 §4.3; SMART App Launch 2.1, App Launch (authorization request);"
            + " HALO SoFA flow step 2"), List.of(), () -> {
          List<RecordingProxy.Exchange> az = matching(all, e -> e.path().endsWith("/auth/authorize")
              && st.emrClientId.equals(params(e).get("client_id")));
          require(!az.isEmpty(), "the EMR never sent the clinician to the authorization endpoint");
          for (RecordingProxy.Exchange e : az) {
            Map<String, String> p = params(e);
            Evidence.add(e.toString());
            require("code".equals(p.get("response_type")), "response_type is " + p.get("response_type"));
            require(p.get("code_challenge") != null, "no code_challenge");
            require("S256".equals(p.get("code_challenge_method")), "code_challenge_method is " + p.get("code_challenge_method"));
            require(p.get("state") != null && p.get("state").length() >= 16, "state missing or shorter than 16 characters");
            require(st.fhirBase().toString().equals(p.get("aud")), "aud is " + p.get("aud") + ", not " + st.fhirBase());
          }
          return az.size() + " authorization request(s), each with S256, state and aud";
        });
    s.check("poc.token.verifier", "The code is redeemed with its verifier",
        Rule.of("The EMR's token request sends the code_verifier of its challenge, and gets tokens", "RFC 7636 §4.5"),
        List.of("poc.sign-in.pkce"), () -> {
          List<RecordingProxy.Exchange> tk = matching(all, e -> e.path().endsWith("/auth/token")
              && "authorization_code".equals(form(e).get("grant_type")) && isEmr(st, e));
          require(!tk.isEmpty(), "the EMR never redeemed a code");
          for (RecordingProxy.Exchange e : tk) {
            Evidence.add(e.toString());
            require(form(e).get("code_verifier") != null, "a token request without code_verifier");
          }
          require(tk.stream().anyMatch(e -> e.status == 200), "no token request of the EMR succeeded");
          return tk.size() + " token request(s) with code_verifier";
        });
    List<RecordingProxy.Exchange> sets = matching(all, e -> e.path().endsWith("/fhir/$set-context"));
    s.check("poc.set-context.sent", "$set-context sent with a Bearer token and accepted",
        Rule.of("The EMR calls POST [base]/$set-context with the clinician's Bearer token; the SoFA accepts it",
            SET + "; RFC 6750 §2.1"), List.of(), () -> {
          require(!sets.isEmpty(), "the EMR never called $set-context");
          for (RecordingProxy.Exchange e : sets) {
            Evidence.add(e.toString());
            require("POST".equals(e.method), "$set-context sent with " + e.method);
            require(String.valueOf(e.header("authorization")).startsWith("Bearer "), "a $set-context without a Bearer token");
          }
          require(sets.stream().anyMatch(e -> e.status == 200), "no $set-context was accepted (the SoFA's answers: "
              + sets.stream().map(e -> String.valueOf(e.status)).reduce((a, b) -> a + ", " + b).orElse("") + ")");
          return sets.size() + " call(s)";
        });
    s.check("poc.set-context.valid", "$set-context Parameters and Bundle are well formed",
        Rule.of("Only the operation's parameters; appID of an approved app; patient, encounter and fhirUser point at"
            + " resources of the right type; resources is a transaction Bundle whose entries have urn:uuid fullUrls,"
            + " request.method POST, and references that resolve", SET + " (set-context-input-parameters,"
            + " SetContextTransactionBundle)"), List.of("poc.set-context.sent"), () -> {
          for (RecordingProxy.Exchange e : sets) {
            Evidence.add(e.toString());
            validate(st, e.body);
          }
          return sets.size() + " upload(s) well formed";
        });
    List<RecordingProxy.Exchange> subs = matching(all, e -> "POST".equals(e.method) && e.path().endsWith("/fhir/Subscription"));
    PocState.Launch first = st.launches.isEmpty() ? null : st.launches.get(0);
    s.check("poc.subscription.before-launch", "The EMR subscribes before it launches",
        Rule.of("The PoC creates its Subscription to the SoFA's topic before launching the app, so no write-back is"
            + " missed", "HALO SoFA flow step 5; HALO CA:FSub"), List.of(), () -> {
          require(!subs.isEmpty(), "the EMR created no Subscription");
          subs.forEach(e -> Evidence.add(e.toString()));
          require(subs.stream().anyMatch(e -> e.status == 201), "no Subscription was accepted");
          require(first != null, "the app was never launched, so the order cannot be told");
          require(subs.stream().anyMatch(e -> e.status == 201 && e.at.isBefore(first.at)),
              "the Subscription came after the launch");
          return "subscribed, then launched";
        });
    s.check("poc.subscription.handshake", "The EMR's endpoint answers the handshake",
        Rule.of("A rest-hook endpoint answers the handshake with 2xx (or a websocket consumer binds with"
            + " $get-ws-binding-token)", "Subscriptions Backport IG (handshake); HALO CA:FSub"),
        List.of("poc.subscription.before-launch"), () -> {
          if (!st.rewrittenEndpoints.isEmpty()) {
            int hs = st.relay.handshakeStatus();
            require(hs / 100 == 2, hs < 0 ? "no handshake reached the EMR's endpoint" : "the EMR answered the handshake " + hs);
            return "handshake answered " + hs;
          }
          require(matching(all, e -> e.path().endsWith("$get-ws-binding-token") && e.status == 200).size() > 0,
              "no rest-hook endpoint and no websocket binding");
          return "websocket bound";
        });
    s.check("poc.launch.url", "The launch URL carries iss and the launchID",
        Rule.of("The app is launched at its registered launch URL with iss = the SoFA's FHIR base and launch = the"
            + " launchID $set-context returned", "HALO CA:SoF-1; SMART App Launch 2.1, App Launch (EHR launch: iss and launch)"),
        List.of("poc.set-context.sent"), () -> {
          require(first != null, "the app's launch URL was never opened");
          for (PocState.Launch l : st.launches) {
            Evidence.add("LAUNCH iss=" + l.iss + " launch=" + (l.launch == null ? "(none)" : Redact.MARK));
            require(st.fhirBase().toString().equals(l.iss), "iss is " + l.iss + ", not " + st.fhirBase());
            require(l.knownContext, "launch is not a launchID this EMR's $set-context received");
          }
          return st.launches.size() + " launch(es); app: " + first.appOutcome;
        });
    s.check("poc.subscription.gap", "A missed notification is recovered with $events",
        Rule.of("When event numbers jump, the consumer asks $events for the missing ones",
            "Subscriptions Backport IG (event numbers, $events); HALO CA:FSub"),
        List.of("poc.subscription.handshake", "poc.launch.url"), () -> {
          if (st.rewrittenEndpoints.isEmpty()) {
            throw Suite.skip("the gap is made on rest-hook channels only; the EMR used a websocket");
          }
          require(st.relay.dropped(), "the kit's app wrote back but no event notification came (" + first.appOutcome + ")");
          require(st.relay.forwardedEvents() > 0, "the later event did not reach the EMR");
          java.time.Instant when = st.relay.droppedAt().orElseThrow();
          String sub = st.relay.droppedSubscription().map(Fhir::idOf).orElse("");
          require(!sub.isEmpty(), "the held-back notification did not name its Subscription");
          List<RecordingProxy.Exchange> ev = matching(all, e -> e.path().endsWith("/fhir/Subscription/" + sub + "/$events")
              && e.status == 200 && !e.at.isBefore(when)
              && String.valueOf(e.header("authorization")).startsWith("Bearer "));
          ev.forEach(e -> Evidence.add(e.toString()));
          require(!ev.isEmpty(), "event 1 was held back and event 2 delivered, but the EMR never asked $events for"
              + " Subscription/" + sub + " (with its token, answered 200)");
          return "recovered with $events on Subscription/" + sub;
        });
    s.check("poc.clear-context.sent", "The EMR clears the context at the end",
        Rule.of("$clear-context with the launchID ends the session, so nothing of it stays on the SoFA",
            "HALO CA:SoFA-2 Clear Context; HALO privacy (retention)"), List.of("poc.set-context.sent"), () -> {
          List<RecordingProxy.Exchange> cl = matching(all, e -> e.path().endsWith("/fhir/$clear-context"));
          require(!cl.isEmpty(), "the EMR never called $clear-context");
          cl.forEach(e -> Evidence.add(e.toString()));
          require(cl.stream().anyMatch(e -> e.status == 200), "no $clear-context succeeded");
          if (first != null && first.launch != null) {
            require(cl.stream().anyMatch(e -> e.body.contains(first.launch)), "no $clear-context named the launched launchID");
          }
          return "cleared";
        });
    return s.results();
  }

  private static List<RecordingProxy.Exchange> matching(List<RecordingProxy.Exchange> all,
      Predicate<RecordingProxy.Exchange> p) {
    List<RecordingProxy.Exchange> out = new ArrayList<>();
    for (RecordingProxy.Exchange e : all) {
      if (p.test(e)) {
        out.add(e);
      }
    }
    return out;
  }

  private static boolean isEmr(PocState st, RecordingProxy.Exchange e) {
    if (st.emrClientId.equals(form(e).get("client_id"))) {
      return true;
    }
    String a = e.header("authorization");
    if (a != null && a.startsWith("Basic ")) {
      String dec = new String(Base64.getDecoder().decode(a.substring(6).trim()), StandardCharsets.UTF_8);
      return dec.startsWith(Http.enc(st.emrClientId) + ":") || dec.startsWith(st.emrClientId + ":");
    }
    return false;
  }

  private static Map<String, String> params(RecordingProxy.Exchange e) {
    Map<String, String> p = new HashMap<>(Browser.params(URI.create("http://x" + e.target)));
    if ("POST".equals(e.method)) {
      p.putAll(form(e));
    }
    return p;
  }

  private static Map<String, String> form(RecordingProxy.Exchange e) {
    String ct = String.valueOf(e.header("content-type"));
    if (!ct.startsWith("application/x-www-form-urlencoded") || e.body.isEmpty()) {
      return Map.of();
    }
    return Browser.params(URI.create("http://x/?" + e.body));
  }

  /** The static rules of a $set-context body. */
  static void validate(PocState st, String body) {
    JsonNode p;
    try {
      p = Http.JSON.readTree(body);
    } catch (Exception e) {
      throw new CheckFailure("the body is not JSON");
    }
    require(p != null && "Parameters".equals(p.path("resourceType").asText()), "the body is not a Parameters");
    Map<String, String> entryTypes = new HashMap<>();
    JsonNode bundle = null;
    for (JsonNode part : p.path("parameter")) {
      String name = part.path("name").asText();
      require(INPUTS.contains(name), "unknown parameter '" + name + "'");
      if (name.equals("resources")) {
        require(bundle == null, "resources given twice");
        bundle = part.path("resource");
      }
    }
    String appId = Fhir.part(p, "appID").flatMap(Fhir::value).orElse(null);
    require(st.appId.equals(appId), "appID is " + appId + ", not the catalog's " + st.appId);
    require(Fhir.part(p, "patient").isPresent(), "no patient");
    if (bundle != null) {
      require("Bundle".equals(bundle.path("resourceType").asText()), "resources is not a Bundle");
      require("transaction".equals(bundle.path("type").asText()), "resources is a " + bundle.path("type").asText()
          + " Bundle, not a transaction");
      int i = 0;
      for (JsonNode e : bundle.path("entry")) {
        String full = e.path("fullUrl").asText("");
        require(full.startsWith("urn:uuid:"), "entry " + i + " has no urn:uuid fullUrl");
        require("POST".equals(e.path("request").path("method").asText()), "entry " + i + " is not a POST");
        String type = e.path("resource").path("resourceType").asText();
        require(type.equals(e.path("request").path("url").asText()), "entry " + i + "'s request.url is not " + type);
        entryTypes.put(full, type);
        i++;
      }
      for (JsonNode e : bundle.path("entry")) {
        for (String ref : references(e.path("resource"), new ArrayList<>())) {
          require(!ref.startsWith("urn:uuid:") || entryTypes.containsKey(ref), "a reference to " + ref
              + " that no entry has");
        }
      }
    }
    for (Map.Entry<String, Set<String>> t : TARGETS.entrySet()) {
      for (JsonNode part : Fhir.parts(p, t.getKey())) {
        String ref = Fhir.value(part).orElse("");
        String type = ref.startsWith("urn:uuid:") ? entryTypes.get(ref) : ref.contains("/") ? ref.substring(0, ref.indexOf('/')) : null;
        require(type != null, t.getKey() + " points at " + ref + ", which is neither an entry nor a typed reference");
        require(t.getValue().contains(type), t.getKey() + " points at a " + type);
      }
    }
    for (JsonNode part : Fhir.parts(p, "fhirContext")) {
      String ref = Fhir.value(part).orElse("");
      require(!ref.startsWith("urn:uuid:") || entryTypes.containsKey(ref), "fhirContext " + ref + " is no entry");
    }
  }

  private static List<String> references(JsonNode n, List<String> out) {
    if (n.isObject()) {
      n.fields().forEachRemaining(f -> {
        if (f.getKey().equals("reference") && f.getValue().isTextual()) {
          out.add(f.getValue().asText());
        } else {
          references(f.getValue(), out);
        }
      });
    } else if (n.isArray()) {
      n.forEach(x -> references(x, out));
    }
    return out;
  }
}
