package ca.halo.sofaserver.config;

import ca.halo.core.catalog.AppListing;
import ca.halo.server.fhir.RemoteFhirRepository;
import ca.halo.sofaserver.config.SofaConfig.Catalog;
import ca.halo.sofaserver.config.SofaConfig.ClientCredentials;
import ca.halo.sofaserver.config.SofaConfig.DevUser;
import ca.halo.sofaserver.config.SofaConfig.EndpointPolicyChoice;
import ca.halo.sofaserver.config.SofaConfig.Fhir;
import ca.halo.sofaserver.config.SofaConfig.FhirType;
import ca.halo.sofaserver.config.SofaConfig.Identity;
import ca.halo.sofaserver.config.SofaConfig.Introspection;
import ca.halo.sofaserver.config.SofaConfig.Jwks;
import ca.halo.sofaserver.config.SofaConfig.Limits;
import ca.halo.sofaserver.config.SofaConfig.LogFormat;
import ca.halo.sofaserver.config.SofaConfig.Logging;
import ca.halo.sofaserver.config.SofaConfig.Metrics;
import ca.halo.sofaserver.config.SofaConfig.Postgres;
import ca.halo.sofaserver.config.SofaConfig.RemoteFhir;
import ca.halo.sofaserver.config.SofaConfig.Server;
import ca.halo.sofaserver.config.SofaConfig.Store;
import ca.halo.sofaserver.config.SofaConfig.StoreType;
import ca.halo.sofaserver.config.SofaConfig.Subscriptions;
import ca.halo.sofaserver.config.SofaConfig.Tls;
import ca.halo.sofaserver.config.SofaConfig.Upstream;
import ca.halo.sofaserver.config.SofaConfig.WatchedFile;
import ca.halo.sofaserver.config.internal.ClientsFile;
import ca.halo.sofaserver.config.internal.Values;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a {@link SofaConfig} from one YAML file and the {@code HALO_*} environment variables,
 * and checks it: unknown keys and variables are refused (with a "did you mean" when one known
 * name is close), values are typed and in range, files exist and open, and the sections agree
 * with each other. Every problem is collected and reported in one {@link ConfigException}.
 *
 * <pre>{@code
 * SofaConfig config = SofaConfigLoader.load(Path.of("sofa.yaml"), System.getenv());
 * }</pre>
 *
 * <p>An environment variable overrides the key it names: {@code HALO_} and the key path in upper
 * snake case ({@code server.publicBaseUrl} is {@code HALO_SERVER_PUBLIC_BASE_URL}); a list is
 * comma-separated, {@code identity.users} a YAML or JSON flow sequence; an empty variable unsets
 * the key. Durations read {@code 30s}, {@code 5m}, {@code 8h}, {@code 365d} or ISO-8601
 * ({@code PT30S}); sizes {@code 65536}, {@code 64KiB}, {@code 10MiB}.
 *
 * <p>Loading reads only local files: nothing here connects to a database or an identity
 * provider (start-up does). Stateless and thread-safe.
 */
public final class SofaConfigLoader {
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+");
  private static final List<String> LEVELS =
      List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  private SofaConfigLoader() {}

  /**
   * Reads and checks the configuration.
   *
   * @param file the YAML file
   * @param env the environment (normally {@code System.getenv()}); only {@code HALO_*} variables
   *     are read
   * @throws ConfigException with every problem found
   */
  public static SofaConfig load(Path file, Map<String, String> env) {
    Values v = Values.read(file, env);
    if (!Files.isRegularFile(file)) {
      throw new ConfigException(v.problems());
    }
    Identity identity = identity(v);
    Server server = server(v, identity.dev());
    String fhirBase = server.publicBaseUrl() == null ? "" : server.publicBaseUrl() + "/fhir";
    if (identity.introspection().isPresent() && identity.introspection().get().audience() == null) {
      Introspection i = identity.introspection().get();
      identity = new Identity(identity.dev(), identity.users(), identity.upstream(),
          Optional.of(new Introspection(i.url(), i.clientId(), i.clientSecret(), fhirBase)),
          identity.jwks());
    }
    if (identity.jwks().isPresent() && identity.jwks().get().audience() == null) {
      Jwks j = identity.jwks().get();
      identity = new Identity(identity.dev(), identity.users(), identity.upstream(),
          identity.introspection(), Optional.of(new Jwks(j.url(), j.issuer(), fhirBase)));
    }
    Store store = store(v);
    Fhir fhir = fhir(v, store.type());
    WatchedFile clients = new WatchedFile(v.file("clients.file"), v.bool("clients.reload", true));
    clients.file().ifPresent(p -> {
      try {
        ClientsFile.read(p);
      } catch (IllegalArgumentException e) {
        v.problem("clients.file", p + ": " + e.getMessage());
      }
    });
    Optional<URI> catalogUrl = v.has("catalog.url") ? outbound(v, "catalog.url") : Optional.empty();
    if (v.has("catalog.url") && v.has("catalog.file")) {
      v.problem("catalog.url", "choose catalog.file or catalog.url, not both");
    }
    Catalog catalog = new Catalog(v.file("catalog.file"), v.bool("catalog.reload", true),
        catalogUrl, v.duration("catalog.refresh", Duration.ofMinutes(5), false));
    catalog.file().ifPresent(p -> {
      try {
        AppListing.parseList(ca.halo.sofaserver.config.internal.TextFiles.read(p));
      } catch (java.io.IOException | RuntimeException e) {
        v.problem("catalog.file", p + ": " + e.getMessage());
      }
    });
    Subscriptions subscriptions = new Subscriptions(v.bool("subscriptions.enabled", true),
        v.choice("subscriptions.endpointPolicy", "public-https",
            List.of("public-https", "allow-loopback")).equals("allow-loopback")
            ? EndpointPolicyChoice.ALLOW_LOOPBACK : EndpointPolicyChoice.PUBLIC_HTTPS);
    if (subscriptions.endpointPolicy() == EndpointPolicyChoice.ALLOW_LOOPBACK && !identity.dev()) {
      // any subscriber could make the node post to its own loopback ports over plain http
      v.problem("subscriptions.endpointPolicy", "allow-loopback is for development only: it"
          + " needs identity.dev: true");
    }
    Limits limits = limits(v);
    Logging logging = new Logging(
        v.choice("logging.format", "text", List.of("text", "json")).equals("json")
            ? LogFormat.JSON : LogFormat.TEXT,
        v.choice("logging.level", "INFO", LEVELS));
    Metrics metrics = new Metrics(v.bool("metrics.enabled", true));
    if (!v.problems().isEmpty()) {
      throw new ConfigException(v.problems());
    }
    return new SofaConfig(file, server, store, fhir, identity, clients, catalog, subscriptions,
        limits, logging, metrics, v.sources());
  }

  private static Server server(Values v, boolean dev) {
    Optional<URI> base = v.url("server.publicBaseUrl");
    if (base.isEmpty() && !v.has("server.publicBaseUrl")) {
      v.problem("server.publicBaseUrl", "required (the URL clients use, e.g."
          + " https://sofa.example.ca)");
    }
    URI publicBase = base.map(u -> URI.create(u.toString().replaceAll("/+$", ""))).orElse(null);
    if (publicBase != null && !publicBase.getScheme().equalsIgnoreCase("https")
        && !isLoopback(publicBase.getHost())) {
      // sign-ins, codes and tokens would cross the network in clear, development or not
      v.problem("server.publicBaseUrl", "must be https (plain http only on a loopback host)");
    }
    String host = v.string("server.host", "0.0.0.0");
    int port = v.integer("server.port", 8080, 0, 65_535);
    int maxThreads = v.integer("server.maxThreads", 200, 8, 10_000);
    Optional<Tls> tls = tls(v);
    List<String> proxies = v.list("server.trustedProxies");
    for (String p : proxies) {
      if (!isAddressOrRange(p)) {
        v.problem("server.trustedProxies", "'" + p + "' is not an IP address or CIDR range"
            + " (e.g. 10.0.0.0/8)");
      }
    }
    Duration grace = v.duration("server.shutdownGrace", Duration.ofSeconds(20), true);
    Optional<String> nodeName = v.string("server.nodeName");
    if (nodeName.isPresent() && !nodeName.get().matches("[A-Za-z0-9._-]{1,64}")) {
      v.problem("server.nodeName", "must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    return new Server(publicBase, host, port, maxThreads, tls, proxies, grace, nodeName);
  }

  private static Optional<Tls> tls(Values v) {
    Optional<String> password = v.string("server.tls.keystorePassword");
    if (!v.has("server.tls.keystore")) {
      if (password.isPresent()) {
        v.problem("server.tls.keystore", "required when server.tls.keystorePassword is set");
      }
      return Optional.empty();
    }
    Optional<Path> keystore = v.file("server.tls.keystore");
    if (keystore.isEmpty()) {
      return Optional.empty();
    }
    char[] pw = password.orElse("").toCharArray();
    try (InputStream in = Files.newInputStream(keystore.get())) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, pw);
      boolean hasKey = false;
      for (String alias : java.util.Collections.list(ks.aliases())) {
        hasKey |= ks.isKeyEntry(alias);
      }
      if (!hasKey) {
        v.problem("server.tls.keystore", keystore.get() + " holds no private key");
      }
    } catch (java.io.IOException e) {
      v.problem("server.tls.keystore", "cannot open " + keystore.get() + " as PKCS#12 with"
          + " server.tls.keystorePassword (" + rootMessage(e) + ")");
      return Optional.empty();
    } catch (java.security.GeneralSecurityException e) {
      v.problem("server.tls.keystore", "cannot read " + keystore.get() + " ("
          + rootMessage(e) + ")");
      return Optional.empty();
    } finally {
      Arrays.fill(pw, '\0');
    }
    return Optional.of(new Tls(keystore.get(), Secret.of(password.orElse(""))));
  }

  private static Store store(Values v) {
    StoreType type = v.choice("store.type", "memory", List.of("memory", "postgres"))
        .equals("postgres") ? StoreType.POSTGRES : StoreType.MEMORY;
    if (type != StoreType.POSTGRES) {
      v.anySetUnder("store.postgres").ifPresent(k -> v.problem(k,
          "only used when store.type is postgres (it is " + type.configName() + ")"));
      return new Store(type, Optional.empty());
    }
    Optional<String> url = v.string("store.postgres.jdbcUrl");
    if (url.isEmpty()) {
      v.problem("store.postgres.jdbcUrl", "required when store.type is postgres"
          + " (jdbc:postgresql://host:5432/db, or embedded for development)");
    } else if (!url.get().equals(Postgres.EMBEDDED) && !url.get().startsWith("jdbc:postgresql:")) {
      v.problem("store.postgres.jdbcUrl", "must start with jdbc:postgresql: (or be the word"
          + " embedded)");
    }
    Optional<String> user = v.string("store.postgres.user");
    Optional<Secret> password = v.string("store.postgres.password").map(Secret::of);
    int pool = v.integer("store.postgres.poolSize", 10, 1, 1_000);
    Duration timeout = v.duration("store.postgres.connectionTimeout", Duration.ofSeconds(10), false);
    if (timeout.toMillis() < 250) {
      v.problem("store.postgres.connectionTimeout", "must be at least 250ms");
    }
    Optional<Secret> kek = v.string("store.postgres.signingKeyEncryptionKey").flatMap(s -> {
      try {
        byte[] key = Base64.getDecoder().decode(s);
        if (key.length != 32) {
          v.problem("store.postgres.signingKeyEncryptionKey", "must be base64 of 32 bytes (it is "
              + key.length + " bytes); make one with: openssl rand -base64 32");
          return Optional.empty();
        }
        return Optional.of(Secret.of(s));
      } catch (IllegalArgumentException e) {
        v.problem("store.postgres.signingKeyEncryptionKey", "is not base64");
        return Optional.empty();
      }
    });
    Duration retention = v.duration("store.postgres.auditRetention", Duration.ofDays(365), false);
    return new Store(type, Optional.of(new Postgres(url.orElse(""), user, password, pool, timeout,
        kek, retention)));
  }

  private static Fhir fhir(Values v, StoreType store) {
    String type = v.choice("fhir.type", store.configName(),
        List.of("memory", "postgres", "remote"));
    FhirType t = type.equals("remote") ? FhirType.REMOTE
        : type.equals("postgres") ? FhirType.POSTGRES : FhirType.MEMORY;
    if (t == FhirType.POSTGRES && store != StoreType.POSTGRES) {
      v.problem("fhir.type", "postgres needs store.type: postgres (the resources live in the"
          + " store's database)");
    }
    if (t != FhirType.REMOTE) {
      v.anySetUnder("fhir.remote").ifPresent(k -> v.problem(k,
          "only used when fhir.type is remote (it is " + t.configName() + ")"));
      return new Fhir(t, Optional.empty());
    }
    Optional<URI> base = outbound(v, "fhir.remote.baseUrl");
    if (base.isEmpty() && !v.has("fhir.remote.baseUrl")) {
      v.problem("fhir.remote.baseUrl", "required when fhir.type is remote");
    }
    Optional<URI> tokenUrl = outbound(v, "fhir.remote.tokenUrl");
    Optional<String> clientId = v.string("fhir.remote.clientId");
    Optional<String> secret = v.string("fhir.remote.clientSecret");
    Optional<String> scope = v.string("fhir.remote.scope");
    Optional<ClientCredentials> credentials = Optional.empty();
    boolean any = v.has("fhir.remote.tokenUrl") || clientId.isPresent() || secret.isPresent()
        || scope.isPresent();
    if (any) {
      requireAll(v, "fhir.remote", "the SoFA's client credentials at the remote server",
          List.of("fhir.remote.tokenUrl", "fhir.remote.clientId", "fhir.remote.clientSecret"));
      if (tokenUrl.isPresent() && clientId.isPresent() && secret.isPresent()) {
        credentials = Optional.of(new ClientCredentials(tokenUrl.get(), clientId.get(),
            Secret.of(secret.get()), scope));
      }
    }
    Optional<ClientCredentials> creds = credentials;
    boolean source = v.choice("fhir.remote.sessionMarker", "tag", List.of("tag", "source"))
        .equals("source");
    return new Fhir(t, base.map(b -> new RemoteFhir(b, creds, source
        ? RemoteFhirRepository.SessionMarker.SOURCE : RemoteFhirRepository.SessionMarker.TAG)));
  }

  private static Identity identity(Values v) {
    boolean dev = v.bool("identity.dev", false);
    List<DevUser> users = new ArrayList<>();
    List<Map<String, String>> raw = v.objects("identity.users");
    if (!raw.isEmpty() && !dev) {
      v.problem("identity.users", "only allowed with identity.dev: true (the built-in form"
          + " sign-in is for development; use identity.upstream)");
    }
    Set<String> names = new HashSet<>();
    int i = 0;
    for (Map<String, String> u : raw) {
      i++;
      List<String> missing = new ArrayList<>();
      for (String f : List.of("username", "password", "fhirUser")) {
        if (u.getOrDefault(f, "").isBlank()) {
          missing.add(f);
        }
      }
      if (!missing.isEmpty()) {
        v.problem("identity.users", "item " + i + ": " + String.join(", ", missing)
            + " required");
        continue;
      }
      if (!names.add(u.get("username"))) {
        v.problem("identity.users", "item " + i + ": username " + u.get("username")
            + " appears twice");
        continue;
      }
      users.add(new DevUser(u.get("username"), Secret.of(u.get("password")), u.get("fhirUser"),
          u.getOrDefault("name", u.get("username"))));
    }
    Optional<Upstream> upstream = Optional.empty();
    if (v.anySetUnder("identity.upstream").isPresent()) {
      Optional<URI> issuer = outbound(v, "identity.upstream.issuer");
      Optional<String> clientId = v.string("identity.upstream.clientId");
      Optional<String> secret = v.string("identity.upstream.clientSecret");
      String scope = v.string("identity.upstream.scope", "openid profile");
      requireAll(v, "identity.upstream", "the SoFA's client at the upstream provider",
          List.of("identity.upstream.issuer", "identity.upstream.clientId",
              "identity.upstream.clientSecret"));
      if (issuer.isPresent() && clientId.isPresent() && secret.isPresent()) {
        upstream = Optional.of(new Upstream(issuer.get(), clientId.get(), Secret.of(secret.get()),
            scope));
      }
    }
    boolean devSignIn = dev && !users.isEmpty();
    boolean upstreamSet = v.anySetUnder("identity.upstream").isPresent();
    if (devSignIn && upstreamSet) {
      v.problemOf("identity", "choose one sign-in: identity.users (development form) or"
          + " identity.upstream, not both");
    } else if (!devSignIn && !upstreamSet && !v.has("identity.users")) {
      v.problemOf("identity", "no sign-in configured: set identity.upstream (or, for"
          + " development, identity.dev: true with identity.users)");
    }
    Optional<Introspection> introspection = Optional.empty();
    String ip = "identity.tokenValidation.introspection";
    if (v.anySetUnder(ip).isPresent()) {
      Optional<URI> url = outbound(v, ip + ".url");
      Optional<String> clientId = v.string(ip + ".clientId");
      Optional<String> secret = v.string(ip + ".clientSecret");
      Optional<String> audience = v.string(ip + ".audience");
      requireAll(v, ip, "introspection at the jurisdiction's IdP",
          List.of(ip + ".url", ip + ".clientId", ip + ".clientSecret"));
      if (url.isPresent() && clientId.isPresent() && secret.isPresent()) {
        // the audience defaults to the FHIR base, filled in once the base URL is known
        introspection = Optional.of(new Introspection(url.get(), clientId.get(),
            Secret.of(secret.get()), audience.orElse(null)));
      }
    }
    Optional<Jwks> jwks = Optional.empty();
    String jp = "identity.tokenValidation.jwks";
    if (v.anySetUnder(jp).isPresent()) {
      Optional<URI> url = outbound(v, jp + ".url");
      Optional<URI> issuer = v.url(jp + ".issuer");
      Optional<String> audience = v.string(jp + ".audience");
      requireAll(v, jp, "validation of the IdP's tokens by its JWK set",
          List.of(jp + ".url", jp + ".issuer"));
      if (url.isPresent() && issuer.isPresent()) {
        jwks = Optional.of(new Jwks(url.get(), issuer.get(), audience.orElse(null)));
      }
    }
    return new Identity(dev, users, upstream, introspection, jwks);
  }

  private static Limits limits(Values v) {
    Limits d = Limits.defaults();
    int max = Integer.MAX_VALUE;
    return new Limits(
        v.size("limits.maxBodyBytes", d.maxBodyBytes()),
        v.integer("limits.maxEntries", d.maxEntries(), 1, max),
        v.integer("limits.maxContexts", d.maxContexts(), 1, max),
        v.integer("limits.maxContextsPerOwner", d.maxContextsPerOwner(), 1, max),
        v.size("limits.maxContextBytesPerOwner", d.maxContextBytesPerOwner()),
        v.integer("limits.maxSearchResults", d.maxSearchResults(), 1, max),
        v.integer("limits.maxConnections", d.maxConnections(), 1, max),
        v.integer("limits.maxWebSockets", d.maxWebSockets(), 1, max),
        v.duration("limits.contextTimeToLive", d.contextTimeToLive(), false),
        v.duration("limits.accessTokenLifetime", d.accessTokenLifetime(), false));
  }

  /** A URL the SoFA calls: https, or plain http to a loopback host (the SDK's transport rule). */
  private static Optional<URI> outbound(Values v, String key) {
    Optional<URI> u = v.url(key);
    if (u.isPresent() && !u.get().getScheme().equalsIgnoreCase("https")
        && !isLoopback(u.get().getHost())) {
      v.problem(key, "must be https (plain http only to a loopback host)");
      return Optional.empty();
    }
    return u;
  }

  private static void requireAll(Values v, String section, String what, List<String> keys) {
    for (String k : keys) {
      if (!v.has(k)) {
        v.problem(k, "required when " + section + " is set (" + what + ")");
      }
    }
  }

  /** Whether {@code host} is loopback, without asking DNS. */
  static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equals("localhost") || h.endsWith(".localhost")) {
      return true;
    }
    if (IPV4.matcher(h).matches() || (h.contains(":") && IPV6.matcher(h).matches())) {
      try {
        return InetAddress.getByName(h).isLoopbackAddress();
      } catch (UnknownHostException e) {
        return false;
      }
    }
    return false;
  }

  private static boolean isAddressOrRange(String s) {
    try {
      ca.halo.server.sofa.internal.TrustedProxies.check(List.of(s));
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
