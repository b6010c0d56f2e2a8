import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Fails the build of a client module when its runtime class path holds an artifact its list of
 * announced runtime dependencies does not name, or when the list names one the path no longer
 * holds (issue 17: users' security reviews count every jar).
 *
 * <p>Run by the parent POM's {@code announced-runtime-dependencies} profile in the validate
 * phase, after {@code dependency:list} wrote the resolved runtime dependencies:
 * {@code java RuntimeDependencyCheck.java <module> <announced list> <resolved list>}.
 *
 * <p>The announced list has one {@code groupId:artifactId} (or
 * {@code groupId:artifactId:classifier}) a line; {@code #} starts a comment. Versions are left
 * out on purpose: a version change brings no new jar or supplier and is reviewed where the
 * version is managed (the parent POM), while a new artifact is what this check is for.
 */
public final class RuntimeDependencyCheck {
  private RuntimeDependencyCheck() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 3) {
      System.err.println("usage: RuntimeDependencyCheck <module> <announced list> <resolved list>");
      System.exit(2);
    }
    String module = args[0];
    Path announcedFile = Path.of(args[1]);
    Set<String> announced = announced(Files.readAllLines(announcedFile));
    Map<String, String> resolved = resolved(Files.readAllLines(Path.of(args[2])));

    Set<String> unannounced = new TreeSet<>(resolved.keySet());
    unannounced.removeAll(announced);
    Set<String> gone = new TreeSet<>(announced);
    gone.removeAll(resolved.keySet());

    if (unannounced.isEmpty() && gone.isEmpty()) {
      System.out.println(module + ": " + resolved.size()
          + " runtime dependencies, all announced in " + announcedFile);
      return;
    }
    StringBuilder msg = new StringBuilder();
    for (String ga : unannounced) {
      msg.append(module).append(": unannounced runtime dependency ").append(ga)
          .append(" (").append(resolved.get(ga)).append(")\n");
    }
    if (!unannounced.isEmpty()) {
      msg.append("  Every jar on a client artifact's runtime class path reaches the applications of its"
          + " users.\n  Find where it enters: mvn dependency:tree -pl ").append(module)
          .append(" -Dincludes=").append(unannounced.iterator().next()).append('\n')
          .append("  then exclude it in the POM where it enters, or announce it with a line (and a"
          + " reason) in\n  ").append(announcedFile).append('\n');
    }
    for (String ga : gone) {
      msg.append(module).append(": ").append(ga)
          .append(" is announced but no longer on the runtime class path; remove its line from ")
          .append(announcedFile).append('\n');
    }
    System.err.print(msg);
    System.exit(1);
  }

  private static Set<String> announced(List<String> lines) {
    Set<String> out = new TreeSet<>();
    for (String line : lines) {
      int hash = line.indexOf('#');
      String s = (hash >= 0 ? line.substring(0, hash) : line).trim();
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * The artifacts in {@code dependency:list}'s output, keyed {@code groupId:artifactId[:classifier]},
   * valued with version and scope. Lines read {@code g:a:type:version:scope} or
   * {@code g:a:type:classifier:version:scope}, perhaps followed by {@code -- module name}.
   */
  private static Map<String, String> resolved(List<String> lines) {
    Map<String, String> out = new TreeMap<>();
    for (String line : lines) {
      String s = line.trim();
      int module = s.indexOf(" -- ");
      if (module >= 0) {
        s = s.substring(0, module).trim();
      }
      String[] p = s.split(":");
      if (s.contains(" ") || (p.length != 5 && p.length != 6)) {
        continue; // the header, "none" and blank lines
      }
      String key = p.length == 6 ? p[0] + ":" + p[1] + ":" + p[3] : p[0] + ":" + p[1];
      out.put(key, p[p.length - 2] + ", " + p[p.length - 1]);
    }
    return out;
  }
}
