package ca.halo.server.sofa.internal;

import ca.halo.server.observe.SofaObserver;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.MDC;

/**
 * Gives every request an id ({@code X-Request-Id}: the caller's if it is a plain token of at most
 * 64 characters, else a new one; in the logging MDC as {@code requestId} while the request runs)
 * and tells the {@link SofaObserver} how each one ended, by route template.
 */
public final class ObservingHandler extends Handler.Wrapper {
  /** The MDC key of the request id. */
  public static final String MDC_KEY = "requestId";
  private static final Pattern GIVEN_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "OPTIONS");
  private static final Set<String> AUTH = Set.of("authorize", "sign-in", "token", "introspect",
      "revoke", "jwks", ".well-known/openid-configuration");
  private static final Set<String> OPERATIONS = Set.of("$set-context", "$clear-context",
      "$status", "$events", "$get-ws-binding-token");
  private static final Set<String> PLAIN = Set.of("/healthz", "/readyz", "/metrics",
      "/ws/subscriptions");

  private final SofaObserver observer;
  private final Set<String> types;
  private final SecureRandom random = new SecureRandom();

  /** @param types the resource types the FHIR endpoint serves (unused in labels: {@code {type}}) */
  public ObservingHandler(SofaObserver observer, Set<String> types, Handler next) {
    super(next);
    this.observer = observer;
    this.types = types;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    long start = System.nanoTime();
    String given = request.getHeaders().get("X-Request-Id");
    String id;
    if (given != null && GIVEN_ID.matcher(given).matches()) {
      id = given;
    } else {
      byte[] b = new byte[8];
      random.nextBytes(b);
      id = HexFormat.of().formatHex(b);
    }
    response.getHeaders().put("X-Request-Id", id);
    String method = METHODS.contains(request.getMethod()) ? request.getMethod() : "OTHER";
    String route = route(Request.getPathInContext(request), types);
    AtomicBoolean told = new AtomicBoolean();
    Runnable tell = () -> {
      if (told.compareAndSet(false, true)) {
        try {
          observer.request(method, route, response.getStatus(),
              Duration.ofNanos(System.nanoTime() - start));
        } catch (RuntimeException e) {
          // an observer never fails a request
        }
      }
    };
    Callback observed = new Callback() {
      @Override
      public void succeeded() {
        tell.run();
        callback.succeeded();
      }

      @Override
      public void failed(Throwable x) {
        tell.run();
        callback.failed(x);
      }

      @Override
      public InvocationType getInvocationType() {
        return callback.getInvocationType();
      }
    };
    MDC.put(MDC_KEY, id);
    try {
      boolean handled = super.handle(request, response, observed);
      if (!handled) {
        response.setStatus(404);
        tell.run();
      }
      return handled;
    } finally {
      MDC.remove(MDC_KEY);
    }
  }

  /** The route template of a path: few distinct values, no ids. */
  static String route(String path, Set<String> types) {
    if (path == null) {
      return "other";
    }
    if (PLAIN.contains(path)) {
      return path;
    }
    if (path.startsWith("/auth/")) {
      String a = path.substring(6);
      return AUTH.contains(a) ? "/auth/" + a : "/auth/other";
    }
    if (path.equals("/catalog") || path.startsWith("/catalog/")) {
      return "/catalog";
    }
    if (!path.equals("/fhir") && !path.startsWith("/fhir/")) {
      return "other";
    }
    String rest = path.length() <= 6 ? "" : path.substring(6);
    if (rest.isEmpty()) {
      return "/fhir";
    }
    if (rest.equals(".well-known/smart-configuration") || rest.equals("metadata")) {
      return "/fhir/" + rest;
    }
    String[] seg = rest.split("/", -1);
    if (seg[0].startsWith("$")) {
      return "/fhir/" + operation(seg[0]);
    }
    // one template for every type: labels stay few whatever paths callers invent
    StringBuilder r = new StringBuilder("/fhir/{type}");
    if (seg.length > 1) {
      if (seg[1].startsWith("$")) {
        r.append('/').append(operation(seg[1]));
      } else {
        r.append("/{id}");
        if (seg.length > 2) {
          r.append('/').append(seg[2].startsWith("$") ? operation(seg[2])
              : seg[2].equals("_history") ? "_history" : "other");
        }
      }
    }
    return r.toString();
  }

  private static String operation(String op) {
    return OPERATIONS.contains(op) ? op : "$other";
  }
}
