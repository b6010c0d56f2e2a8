package ca.halo.server.authz;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Signs in configured test users with a username and password form. For the sandbox and tests;
 * a jurisdiction uses {@link UpstreamOidcUserAuthenticator}.
 *
 * <pre>{@code
 * UserAuthenticator users = new FormUserAuthenticator()
 *     .addUser("dr.tremblay", "password", new AuthenticatedUser("dr.tremblay", "Practitioner/1", "Dr. Tremblay"));
 * }</pre>
 *
 * <p>Thread-safe. The form posts {@code username}, {@code password} and {@code interaction} to
 * the callback; its elements have stable ids ({@code #username}, {@code #password},
 * {@code #sign-in}) for browser tests. The authorization server limits the attempts per sign-in
 * and per user name ({@link #accountKey}); this class only checks the password.
 */
public final class FormUserAuthenticator implements UserAuthenticator {
  private final Map<String, Account> accounts = new LinkedHashMap<>();

  private record Account(String password, AuthenticatedUser user) {}

  public synchronized FormUserAuthenticator addUser(
      String username, String password, AuthenticatedUser user) {
    accounts.put(Objects.requireNonNull(username), new Account(Objects.requireNonNull(password),
        Objects.requireNonNull(user)));
    return this;
  }

  @Override
  public SignInStep start(SignInRequest request) {
    return SignInStep.page(form(request, null));
  }

  @Override
  public SignInStep resume(SignInRequest request, Map<String, String> params) {
    String username = params.getOrDefault("username", "");
    String password = params.getOrDefault("password", "");
    Account a;
    synchronized (this) {
      a = accounts.get(username);
    }
    if (a != null && MessageDigest.isEqual(a.password().getBytes(StandardCharsets.UTF_8),
        password.getBytes(StandardCharsets.UTF_8))) {
      return SignInStep.authenticated(a.user());
    }
    return SignInStep.page(form(request, "Unknown user or wrong password."));
  }

  /** The user name of a credential post, trimmed and lower-cased (at most 256 characters). */
  @Override
  public Optional<String> accountKey(Map<String, String> params) {
    String u = params.get("username");
    if (u == null || !params.containsKey("password")) {
      return Optional.empty();
    }
    u = u.trim().toLowerCase(Locale.ROOT);
    return Optional.of(u.length() > 256 ? u.substring(0, 256) : u);
  }

  static String form(SignInRequest r, String error) {
    return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title>"
        + "<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}label{display:block;"
        + "margin:.6em 0}input{width:100%;padding:.4em}button{padding:.5em 1.5em}"
        + ".err{color:#b00}</style></head><body>"
        + "<h1>Sign in</h1><p>" + escape(r.clientName()) + " asks to act on your behalf.</p>"
        + (error == null ? "" : "<p class=\"err\" id=\"error\">" + escape(error) + "</p>")
        + "<form method=\"post\" action=\"" + escape(r.callbackUri().toString()) + "\">"
        + "<input type=\"hidden\" name=\"interaction\" value=\"" + escape(r.interactionId()) + "\">"
        + "<label>User name <input id=\"username\" name=\"username\" autocomplete=\"username\"></label>"
        + "<label>Password <input id=\"password\" name=\"password\" type=\"password\""
        + " autocomplete=\"current-password\"></label>"
        + "<button id=\"sign-in\" type=\"submit\">Sign in</button></form></body></html>";
  }

  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<': b.append("&lt;"); break;
        case '>': b.append("&gt;"); break;
        case '&': b.append("&amp;"); break;
        case '"': b.append("&quot;"); break;
        case '\'': b.append("&#39;"); break;
        default: b.append(c);
      }
    }
    return b.toString();
  }
}
