package ca.halo.sofaserver.internal;

import ca.halo.server.postgres.PostgresDatabase;
import ca.halo.server.sofa.SofaServer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@code /healthz}: the process serves (200). {@code /readyz}: it can do its work: the database
 * answers within 2 s and holds every migration, and a signing key is published (200 when all
 * hold, else 503). Both answer a small JSON object naming each check and whether it passed, and
 * nothing else (no versions, no errors' text).
 */
public final class HealthServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private final transient Supplier<SofaServer> sofa;
  private final transient Optional<PostgresDatabase> database;

  public HealthServlet(Supplier<SofaServer> sofa, Optional<PostgresDatabase> database) {
    this.sofa = sofa;
    this.database = database;
  }

  /** Each readiness check and whether it holds, in a stable order. */
  public Map<String, Boolean> readiness() {
    Map<String, Boolean> checks = new LinkedHashMap<>();
    database.ifPresent(db -> {
      boolean up = db.reachable(Duration.ofSeconds(2));
      checks.put("database", up);
      boolean migrated;
      try {
        migrated = up && db.pendingMigrations() == 0;
      } catch (RuntimeException e) {
        migrated = false;
      }
      checks.put("migrations", migrated);
    });
    boolean keys;
    try {
      keys = sofa.get().authorizationServer().jwks().body().orElse("").contains("\"kid\"");
    } catch (RuntimeException e) {
      keys = false;
    }
    checks.put("signingKeys", keys);
    return checks;
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getServletPath();
    if ("/healthz".equals(path)) {
      write(resp, 200, "{\"status\":\"up\"}");
      return;
    }
    Map<String, Boolean> checks = readiness();
    boolean ready = !checks.containsValue(false);
    StringBuilder json = new StringBuilder("{\"status\":\"").append(ready ? "ready" : "not ready")
        .append("\",\"checks\":{");
    String sep = "";
    for (Map.Entry<String, Boolean> c : checks.entrySet()) {
      json.append(sep).append('"').append(c.getKey()).append("\":")
          .append(c.getValue() ? "\"pass\"" : "\"fail\"");
      sep = ",";
    }
    write(resp, ready ? 200 : 503, json.append("}}").toString());
  }

  private static void write(HttpServletResponse resp, int status, String json)
      throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    resp.setStatus(status);
    resp.setContentType("application/json");
    resp.setHeader("Cache-Control", "no-store");
    resp.setContentLength(body.length);
    resp.getOutputStream().write(body);
  }
}
