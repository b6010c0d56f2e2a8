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
  /** Values the operator gave (passwords, client secrets) and their encodings: never shown. */
  private static final java.util.Set<String> VALUES = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Registers secret values: each is replaced wherever it appears in a report, whatever the
   * field it travels in, also URL-encoded and inside an HTTP Basic header for {@code clientId}.
   */
  public static void secrets(String clientId, String... values) {
    for (String v : values) {
      if (v == null || v.length() < 4) {
        continue;
      }
      VALUES.add(v);
      VALUES.add(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8));
      if (clientId != null) {
        VALUES.add(java.util.Base64.getEncoder().encodeToString((clientId + ":" + v)
            .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        VALUES.add(java.util.Base64.getEncoder().encodeToString((Http.enc(clientId) + ":" + Http.enc(v))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      }
    }
  }

  /** Replaces every registered secret value in {@code s}. */
  public static String values(String s) {
    if (s == null) {
      return null;
    }
    String out = s;
    for (String v : VALUES) {
      if (out.contains(v)) {
        out = out.replace(v, MARK);
      }
    }
    return out;
  }

  /** Control characters (terminal escapes, carriage returns) made visible, for a console line. */
  public static String printable(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 && c != '\n' || c >= 0x7f && c < 0xa0 ? '?' : c);
    }
    return b.toString();
  }

  /** A URL or form body with secret parameters replaced. */
  public static String query(String s) {
    if (s == null) {
      return "";
    }
    int hash = s.indexOf('#');
    if (hash >= 0) {
      return values(query(s.substring(0, hash)) + "#" + query("?" + s.substring(hash + 1)).substring(1));
    }
    StringBuilder out = new StringBuilder();
    int q = s.indexOf('?');
    String head = q < 0 && s.contains("=") ? "" : (q < 0 ? s : s.substring(0, q + 1));
    String rest = q < 0 && s.contains("=") ? s : (q < 0 ? "" : s.substring(q + 1));
    out.append(head);
    if (rest.isEmpty()) {
      return values(out.toString());
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
    return values(out.toString());
  }

  /** A header value, with credentials taken out. */
  public static String header(String name, String value) {
    return values(header0(name, value));
  }

  private static String header0(String name, String value) {
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
    b = values(b);
    return b.length() > MAX_BODY ? b.substring(0, MAX_BODY) + "... (" + b.length() + " characters)" : b;
  }
}
