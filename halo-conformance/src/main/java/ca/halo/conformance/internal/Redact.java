package ca.halo.conformance.internal;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Takes tokens, codes, secrets and passwords out of what a report shows. */
public final class Redact {
  private Redact() {}

  static final String MARK = "[redacted]";
  private static final Set<String> SECRET_NAMES = Set.of("code", "code_verifier", "password",
      "token", "access_token", "refresh_token", "id_token", "client_secret", "client_assertion",
      "assertion", "interaction", "csrf", "_csrf", "session_state");
  private static final Pattern JSON_MEMBER = Pattern.compile(
      "\"(access_token|refresh_token|id_token|code|client_secret|token|password|code_verifier)\"(\\s*:\\s*)\"[^\"]*\"");
  private static final Pattern FHIR_TOKEN_PART = Pattern.compile(
      "(\"name\"\\s*:\\s*\"token\"\\s*,\\s*\"value[A-Za-z]+\"\\s*:\\s*)\"[^\"]*\"");
  private static final Pattern BIND = Pattern.compile("(bind-with-token )\\S+");
  static final int MAX_BODY = 3000;

  /** A URL or form body with secret parameters replaced. */
  public static String query(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    int q = s.indexOf('?');
    String head = q < 0 && s.contains("=") ? "" : (q < 0 ? s : s.substring(0, q + 1));
    String rest = q < 0 && s.contains("=") ? s : (q < 0 ? "" : s.substring(q + 1));
    out.append(head);
    if (rest.isEmpty()) {
      return out.toString();
    }
    String[] pairs = rest.split("&", -1);
    for (int i = 0; i < pairs.length; i++) {
      String p = pairs[i];
      int eq = p.indexOf('=');
      String name = eq < 0 ? p : p.substring(0, eq);
      out.append(i == 0 ? "" : "&");
      if (eq >= 0 && SECRET_NAMES.contains(name.toLowerCase(Locale.ROOT))) {
        out.append(name).append('=').append(MARK);
      } else {
        out.append(p);
      }
    }
    return out.toString();
  }

  /** A header value, with credentials taken out. */
  public static String header(String name, String value) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.equals("authorization") || n.equals("proxy-authorization")) {
      int sp = value.indexOf(' ');
      return (sp < 0 ? "" : value.substring(0, sp + 1)) + MARK;
    }
    if (n.equals("cookie") || n.equals("set-cookie")) {
      return MARK;
    }
    if (n.equals("location") || n.equals("content-location")) {
      return query(value);
    }
    return value;
  }

  /** A body (JSON, form or text), with secrets taken out and cut to a readable length. */
  public static String body(String contentType, String body) {
    if (body == null || body.isEmpty()) {
      return "";
    }
    String b = body;
    if (contentType != null && contentType.startsWith("application/x-www-form-urlencoded")) {
      b = query(b);
    } else {
      b = JSON_MEMBER.matcher(b).replaceAll(m -> Matcher.quoteReplacement(
          "\"" + m.group(1) + "\"" + m.group(2) + "\"" + MARK + "\""));
      b = FHIR_TOKEN_PART.matcher(b).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + "\"" + MARK + "\""));
      b = BIND.matcher(b).replaceAll("$1" + MARK);
    }
    return b.length() > MAX_BODY ? b.substring(0, MAX_BODY) + "... (" + b.length() + " characters)" : b;
  }
}
