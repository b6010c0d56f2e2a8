package ca.halo.conformance.internal;

import ca.halo.conformance.CheckResult;
import ca.halo.conformance.ConformanceReport;
import ca.halo.conformance.Outcome;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/** Console, JUnit XML and HTML renderings of a report. */
public final class Reports {
  private Reports() {}

  /** One line for a terminal: nothing a server sent can move the cursor or hide text. */
  public static String line(CheckResult r) {
    return Redact.printable(String.format(Locale.ROOT, "%-4s %-42s %s", r.outcome(), r.id(),
        r.outcome() == Outcome.PASS ? "" : r.message() + (r.failed() ? "  [" + r.rule().source() + "]" : ""))
        .replace('\n', ' '));
  }

  public static void console(ConformanceReport rep, PrintStream out) {
    out.println(Redact.printable("HALO conformance: " + rep.target() + " " + rep.endpoint()));
    for (CheckResult r : rep.results()) {
      out.println("  " + line(r).stripTrailing());
    }
    out.println(rep.count(Outcome.PASS) + " passed, " + rep.count(Outcome.FAIL) + " failed, "
        + rep.count(Outcome.SKIP) + " skipped");
  }

  static String xml(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<': b.append("&lt;"); break;
        case '>': b.append("&gt;"); break;
        case '&': b.append("&amp;"); break;
        case '"': b.append("&quot;"); break;
        case '\'': b.append("&#39;"); break;
        default:
          if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
            b.append(c).append(s.charAt(++i));
          } else if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' || Character.isSurrogate(c)
              || c == 0xFFFE || c == 0xFFFF) {
            b.append('?'); // not an XML 1.0 character: the report must stay parseable
          } else {
            b.append(c);
          }
      }
    }
    return b.toString();
  }

  private static String secs(Duration d) {
    return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
  }

  public static void junit(ConformanceReport rep, Path file) throws IOException {
    StringBuilder b = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    Duration total = rep.results().stream().map(CheckResult::time).reduce(Duration.ZERO, Duration::plus);
    b.append("<testsuite name=\"halo-conformance.").append(xml(rep.target())).append("\" tests=\"")
        .append(rep.results().size()).append("\" failures=\"").append(rep.count(Outcome.FAIL))
        .append("\" errors=\"0\" skipped=\"").append(rep.count(Outcome.SKIP)).append("\" time=\"")
        .append(secs(total)).append("\" timestamp=\"").append(rep.started().toString().replaceFirst("\\.\\d+Z$", ""))
        .append("\">\n  <properties><property name=\"endpoint\" value=\"").append(xml(rep.endpoint()))
        .append("\"/></properties>\n");
    for (CheckResult r : rep.results()) {
      b.append("  <testcase classname=\"").append(xml(r.id().contains(".") ? r.id().substring(0, r.id().lastIndexOf('.')) : r.id()))
          .append("\" name=\"").append(xml(r.id())).append("\" time=\"").append(secs(r.time())).append("\">\n");
      if (r.outcome() == Outcome.FAIL) {
        b.append("    <failure message=\"").append(xml(r.message())).append("\" type=\"").append(xml(r.rule().source()))
            .append("\">").append(xml("Rule: " + r.rule().text() + "\nSource: " + r.rule().source() + "\n\n"
                + String.join("\n\n", r.exchanges()))).append("</failure>\n");
      } else if (r.outcome() == Outcome.SKIP) {
        b.append("    <skipped message=\"").append(xml(r.message())).append("\"/>\n");
      }
      b.append("    <system-out>").append(xml(r.title() + "\nRule: " + r.rule() + "\n" + r.message())).append("</system-out>\n");
      b.append("  </testcase>\n");
    }
    b.append("</testsuite>\n");
    write(file, b.toString());
  }

  public static void html(ConformanceReport rep, Path file) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
        .append("<title>HALO conformance: ").append(xml(rep.target())).append("</title><style>")
        .append("body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2733;max-width:70em}")
        .append("h1{font-size:1.5em;margin-bottom:.2em}.meta{color:#5b6672;margin-bottom:1.2em}")
        .append(".sum span{display:inline-block;padding:.3em .8em;margin-right:.5em;border-radius:4px;font-weight:600}")
        .append("table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #dde3ea;")
        .append("padding:.45em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f6f9}")
        .append("th:first-child{width:4.5em}th:last-child{width:32%}")
        .append(".PASS{background:#e3f4e8;color:#1f6b36}.FAIL{background:#fde5e5;color:#a11d1d}")
        .append(".SKIP{background:#f0f0f0;color:#555}td.o{font-weight:700;width:4em}code{font-size:.92em}")
        .append(".src{color:#5b6672;font-size:.9em}pre{white-space:pre-wrap;background:#f7f9fb;border:1px solid #e1e6ec;")
        .append("padding:.6em;font-size:.85em;max-height:28em;overflow:auto}details{margin-top:.3em}</style></head><body>");
    b.append("<h1>HALO conformance report: ").append(xml(rep.target())).append("</h1>");
    b.append("<div class=\"meta\">").append(xml(rep.endpoint())).append(" &middot; ").append(xml(rep.started().toString()))
        .append(" &middot; tokens, codes, secrets and passwords are redacted</div>");
    b.append("<div class=\"sum\"><span class=\"PASS\">").append(rep.count(Outcome.PASS)).append(" passed</span>")
        .append("<span class=\"FAIL\">").append(rep.count(Outcome.FAIL)).append(" failed</span>")
        .append("<span class=\"SKIP\">").append(rep.count(Outcome.SKIP)).append(" skipped</span></div><p></p>");
    b.append("<table><tr><th>Result</th><th>Check</th><th>Rule and source</th></tr>");
    for (CheckResult r : rep.results()) {
      b.append("<tr><td class=\"o ").append(r.outcome()).append("\">").append(r.outcome()).append("</td><td><b>")
          .append(xml(r.title())).append("</b><br><code>").append(xml(r.id())).append("</code>");
      if (!r.message().isEmpty()) {
        b.append("<br>").append(xml(r.message()));
      }
      if (!r.exchanges().isEmpty() && r.outcome() != Outcome.PASS) {
        b.append(r.failed() ? "<details open>" : "<details>").append("<summary>What was sent and received (").append(r.exchanges().size())
            .append(")</summary><pre>").append(xml(String.join("\n\n", r.exchanges()))).append("</pre></details>");
      }
      b.append("</td><td>").append(xml(r.rule().text())).append("<br><span class=\"src\">")
          .append(xml(r.rule().source())).append("</span></td></tr>");
    }
    b.append("</table></body></html>\n");
    write(file, b.toString());
  }

  private static void write(Path file, String s) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    Files.writeString(file, s, StandardCharsets.UTF_8);
  }
}
