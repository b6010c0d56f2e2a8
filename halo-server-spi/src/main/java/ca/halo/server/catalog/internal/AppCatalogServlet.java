package ca.halo.server.catalog.internal;

import ca.halo.core.catalog.AppListing;
import ca.halo.core.internal.Json;
import ca.halo.server.catalog.AppCatalogRepository;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The App Catalog supplier's HTTP face: {@code GET [base]/apps} with filters {@code q},
 * {@code category}, {@code launchType}, {@code fhirScope}, {@code status} and paging
 * {@code _count}/{@code page}; {@code GET [base]/apps/{id}}. Answers carry a strong {@code ETag}
 * and honour {@code If-None-Match} with 304. Errors are JSON {@code {"error", "error_description"}}.
 */
public final class AppCatalogServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final Set<String> FILTERS = Set.of("q", "category", "launchType", "fhirScope",
      "status", "_count", "page");
  private static final int MAX_COUNT = 100;
  private final transient AppCatalogRepository catalog;

  public AppCatalogServlet(AppCatalogRepository catalog) {
    this.catalog = catalog;
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getPathInfo() == null ? "" : req.getPathInfo();
    if (path.equals("/apps") || path.equals("/apps/")) {
      list(req, resp);
    } else if (path.startsWith("/apps/") && path.indexOf('/', 6) < 0) {
      String id = path.substring(6);
      AppListing a = catalog.find(id).orElse(null);
      if (a == null) {
        error(resp, 404, "not_found", "no app with id '" + id + "' in this catalog");
        return;
      }
      send(req, resp, a.toJson());
    } else {
      error(resp, 404, "not_found", "unknown path; use /apps or /apps/{id}");
    }
  }

  private void list(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    Map<String, String[]> params = req.getParameterMap();
    for (Map.Entry<String, String[]> e : params.entrySet()) {
      if (!FILTERS.contains(e.getKey())) {
        error(resp, 400, "invalid_filter", "unknown filter '" + e.getKey() + "'; use " + FILTERS);
        return;
      }
      if (e.getValue().length != 1) {
        error(resp, 400, "invalid_filter", "filter '" + e.getKey() + "' given more than once");
        return;
      }
    }
    String status = req.getParameter("status");
    if (status != null && !status.equals("all") && !AppListing.STATUSES.contains(status)) {
      error(resp, 400, "invalid_filter", "status must be active, suspended, retired or all");
      return;
    }
    String launchType = req.getParameter("launchType");
    if (launchType != null && !launchType.equals("ehr") && !launchType.equals("standalone")) {
      error(resp, 400, "invalid_filter", "launchType must be ehr or standalone");
      return;
    }
    int count;
    int page;
    try {
      count = req.getParameter("_count") == null ? 20 : Integer.parseInt(req.getParameter("_count"));
      page = req.getParameter("page") == null ? 1 : Integer.parseInt(req.getParameter("page"));
    } catch (NumberFormatException e) {
      error(resp, 400, "invalid_paging", "_count and page must be whole numbers");
      return;
    }
    if (count < 1 || count > MAX_COUNT || page < 1) {
      error(resp, 400, "invalid_paging", "_count must be 1.." + MAX_COUNT + " and page at least 1");
      return;
    }
    String q = req.getParameter("q");
    String category = req.getParameter("category");
    String scope = req.getParameter("fhirScope");
    List<AppListing> hits = new ArrayList<>();
    for (AppListing a : catalog.all()) {
      boolean statusOk = status == null ? a.isActive() : status.equals("all") || a.status().equals(status);
      if (statusOk
          && (q == null || a.matchesText(q))
          && (category == null || a.categories().contains(category))
          && (launchType == null || a.launchTypes().contains(launchType))
          && (scope == null || a.scopes().contains(scope))) {
        hits.add(a);
      }
    }
    ObjectNode body = Json.object();
    body.put("total", hits.size());
    body.put("page", page);
    body.put("count", count);
    ArrayNode apps = body.putArray("apps");
    long from = (long) (page - 1) * count; // page may be huge: no int overflow
    for (long i = from; i < Math.min(hits.size(), from + count); i++) {
      apps.add(Json.MAPPER.readTree(hits.get((int) i).toJson()));
    }
    if (from + count < hits.size()) {
      StringBuilder next = new StringBuilder(req.getRequestURL()).append("?");
      for (Map.Entry<String, String[]> e : params.entrySet()) {
        if (!e.getKey().equals("page")) {
          next.append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
              .append(URLEncoder.encode(e.getValue()[0], StandardCharsets.UTF_8)).append('&');
        }
      }
      body.put("next", next.append("page=").append(page + 1).toString());
    }
    send(req, resp, Json.write(body));
  }

  private static void send(HttpServletRequest req, HttpServletResponse resp, String json)
      throws IOException {
    String etag = "\"" + sha256(json) + "\"";
    resp.setHeader("ETag", etag);
    resp.setHeader("Cache-Control", "no-cache");
    String inm = req.getHeader("If-None-Match");
    if (inm != null && (inm.equals(etag) || inm.equals("*")
        || List.of(inm.split("\\s*,\\s*")).contains(etag))) {
      resp.setStatus(304);
      return;
    }
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    resp.setStatus(200);
    resp.setContentType("application/json");
    resp.setContentLength(b.length);
    resp.getOutputStream().write(b);
  }

  private static void error(HttpServletResponse resp, int status, String error, String description)
      throws IOException {
    ObjectNode o = Json.object();
    o.put("error", error);
    o.put("error_description", description);
    byte[] b = Json.write(o).getBytes(StandardCharsets.UTF_8);
    resp.setStatus(status);
    resp.setContentType("application/json");
    resp.getOutputStream().write(b);
  }

  private static String sha256(String s) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
