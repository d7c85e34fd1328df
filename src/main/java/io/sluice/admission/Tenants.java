package io.sluice.admission;

import io.quarkus.runtime.Startup;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import io.sluice.observability.SluiceMetrics;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.jboss.logging.Logger;

/**
 * Maps API keys to tenants. Keys arrive as {@code Authorization: Bearer <key>} or {@code X-API-Key:
 * <key>}; only their SHA-256 hashes are configured ({@code sluice.tenants."<name>".api-key-sha256}), so
 * no key is ever held in the clear. With authentication off every caller is {@link Tenant#ANONYMOUS}.
 */
@ApplicationScoped
@Startup // a key configured wrong stops the start, instead of failing every request
public class Tenants {

    /** Header carrying the key when {@code Authorization} does not. */
    public static final String API_KEY_HEADER = "X-API-Key";

    private static final Logger LOG = Logger.getLogger(Tenants.class);

    @Inject
    SluiceMetrics metrics;

    private final boolean enabled;
    private final boolean management;
    private final Map<String, Tenant> byHash = new HashMap<>();

    @Inject
    public Tenants(SluiceConfig config) {
        this.enabled = config.auth().enabled();
        this.management = config.auth().management();
        if (enabled && config.tenants().keySet().stream().anyMatch(name -> name == null || name.isEmpty())) {
            // SmallRye reads sluice.tenants."" as a tenant without a name, which no meter or header could carry
            throw new IllegalArgumentException("sluice.tenants.\"\": a tenant's name must not be empty");
        }
        warnings(config).forEach(LOG::warn);
        checkManagementInterface(enabled && management, org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("quarkus.management.enabled", Boolean.class).orElse(false));
        if (!enabled) {
            return; // keys are never read: a leftover one must not stop a server that does not use them
        }
        config.tenants().forEach((name, tenant) -> tenant.apiKeySha256().ifPresent(hashes -> hashes.forEach(hash -> {
            String h = hash.trim().toLowerCase(Locale.ROOT);
            if (!h.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("sluice.tenants.\"" + name + "\".api-key-sha256 must be 64 hex digits");
            }
            Tenant previous = byHash.put(h, new Tenant(name));
            if (previous != null && !previous.name().equals(name)) {
                throw new IllegalArgumentException("one API key is configured for tenants " + previous.name() + " and " + name);
            }
        })));
    }

    /**
     * Stops the start when management endpoints are to be protected but Quarkus serves them on its management
     * interface, its own server, which Sluice's filter does not see: nothing would be protected.
     */
    static void checkManagementInterface(boolean managementProtected, boolean managementInterface) {
        if (managementProtected && managementInterface) {
            throw new IllegalStateException("sluice.auth.management=true cannot protect Quarkus's management interface"
                    + " (quarkus.management.enabled=true serves /q/* on its own port, out of Sluice's reach); guard that"
                    + " port by network policy and turn sluice.auth.management off, or turn the interface off");
        }
    }

    /**
     * What the auth settings say that the server will not do: keys configured while authentication is off (every
     * request then runs as the anonymous tenant, unchecked), {@code management} without authentication, and with
     * it on no key at all (every request a 401) or a tenant with settings but no key (no request can be it).
     */
    static List<String> warnings(SluiceConfig config) {
        List<String> warnings = new java.util.ArrayList<>();
        SortedSet<String> withKeys = new TreeSet<>();
        SortedSet<String> withoutKeys = new TreeSet<>();
        config.tenants().forEach((name, t) -> (t.apiKeySha256().filter(h -> !h.isEmpty()).isPresent() ? withKeys : withoutKeys)
                .add(name == null ? "" : name));
        if (!config.auth().enabled()) {
            if (!withKeys.isEmpty()) {
                warnings.add("sluice.auth.enabled is false: the API keys of tenants " + withKeys + " are not checked,"
                        + " and every request runs as the anonymous tenant");
            }
            if (config.auth().management()) {
                warnings.add("sluice.auth.management=true does nothing while sluice.auth.enabled is false");
            }
        } else if (withKeys.isEmpty()) {
            warnings.add("sluice.auth.enabled is true but no tenant has an api-key-sha256: every request will get 401");
        } else {
            withoutKeys.remove(Tenant.ANONYMOUS.name()); // its settings are read with auth off
            if (!withoutKeys.isEmpty()) {
                warnings.add("tenants " + withoutKeys + " have settings but no api-key-sha256: no request can be theirs");
            }
        }
        return warnings;
    }

    /** Who can call: the tenants with a key, or the anonymous one when authentication is off; by name. */
    public SortedSet<String> names() {
        if (!enabled) {
            return new TreeSet<>(Set.of(Tenant.ANONYMOUS.name()));
        }
        SortedSet<String> names = new TreeSet<>();
        byHash.values().forEach(t -> names.add(t.name()));
        return names;
    }

    /** Whether the inference API needs a key. */
    public boolean enabled() {
        return enabled;
    }

    /** Whether health, metrics and other management endpoints need a key. */
    public boolean managementProtected() {
        return enabled && management;
    }

    /** The refusals' counters exist at 0 from the start, so rate() sees the first (with auth off they stay 0). */
    @PostConstruct
    void registerCounters() {
        metrics.unauthenticatedCounters();
    }

    /**
     * The caller's tenant, from every value of the two headers ({@code Authorization: Bearer <key>} and {@value
     * #API_KEY_HEADER}; either may be empty); a refusal is counted under {@code protocol}. A request that carries
     * more than one distinct key is refused rather than judged by one of them: which one a proxy or a client put
     * first or last would otherwise choose the tenant (a gateway that adds {@value #API_KEY_HEADER} and passes the
     * client's {@code Authorization} through would let the client pick its own).
     *
     * @throws InferenceException.Unauthenticated when auth is on and the key is missing, unknown, or not one key
     */
    public Tenant authenticate(List<String> authorizations, List<String> apiKeys, Protocol protocol) {
        if (!enabled) {
            return Tenant.ANONYMOUS;
        }
        Set<String> keys = keys(authorizations, apiKeys);
        if (keys.isEmpty()) {
            metrics.unauthenticated(protocol, "missing_key");
            throw new InferenceException.Unauthenticated(
                    "an API key is required: send 'Authorization: Bearer <key>' or '" + API_KEY_HEADER + ": <key>'");
        }
        if (keys.size() > 1) {
            metrics.unauthenticated(protocol, "conflicting_keys");
            throw new InferenceException.Unauthenticated("conflicting API keys: the request carries " + keys.size()
                    + " different keys in 'Authorization: Bearer' and '" + API_KEY_HEADER + "'; send one");
        }
        Tenant tenant = byHash.get(sha256(keys.iterator().next()));
        if (tenant == null) {
            metrics.unauthenticated(protocol, "unknown_key");
            throw new InferenceException.Unauthenticated("unknown API key");
        }
        return tenant;
    }

    /** The distinct keys of the bearer {@code Authorization} values and the {@value #API_KEY_HEADER} values; blank ones are none. */
    private static Set<String> keys(List<String> authorizations, List<String> apiKeys) {
        Set<String> keys = new HashSet<>(2);
        for (String authorization : authorizations) {
            if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                String k = authorization.substring(7).trim();
                if (!k.isEmpty()) {
                    keys.add(k);
                }
            }
        }
        for (String apiKey : apiKeys) {
            if (apiKey != null && !apiKey.isBlank()) {
                keys.add(apiKey.trim());
            }
        }
        return keys;
    }

    /** Lower-case hex SHA-256 of {@code key}, as configured. */
    public static String sha256(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
