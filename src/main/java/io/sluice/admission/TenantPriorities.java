package io.sluice.admission;

import io.quarkus.runtime.Startup;
import io.sluice.config.SluiceConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;

/**
 * The priority level each tenant's requests run at ({@code sluice.tenants."<name>".priority}): a tenant's
 * {@code default} for a request that asks for none (priority 0, or one past the model's levels, which
 * Triton reads as none), and its {@code highest}, above which a request is lowered, so that a client cannot
 * put itself ahead of the others by asking. Levels are Triton's: 1 is the highest. Only the tenants that can
 * call are read: with authentication on, those with a key; with it off, the one anonymous tenant, from
 * {@code sluice.tenants.anonymous.priority}.
 */
@ApplicationScoped
@Startup // levels configured wrong stop the start, instead of failing every request
public class TenantPriorities {

    /** One tenant's levels; 0 for one not set. */
    record Levels(int defaultLevel, int highest) {}

    private final Map<String, Levels> byTenant = new HashMap<>();

    @Inject
    public TenantPriorities(SluiceConfig config) {
        boolean auth = config.auth().enabled();
        config.tenants().forEach((name, tenant) -> {
            boolean calls = auth ? tenant.apiKeySha256().isPresent() : name.equals(Tenant.ANONYMOUS.name());
            if (!calls) {
                return; // a leftover, never used, must not stop a server
            }
            int defaultLevel = tenant.priority().defaultLevel().orElse(0);
            int highest = tenant.priority().highest().orElse(0);
            String key = "sluice.tenants.\"" + name + "\".priority.";
            if (tenant.priority().defaultLevel().isPresent() && defaultLevel < 1) {
                throw new IllegalArgumentException(key + "default must be a level >= 1 (1 is the highest), was "
                        + defaultLevel);
            }
            if (tenant.priority().highest().isPresent() && highest < 1) {
                throw new IllegalArgumentException(key + "highest must be a level >= 1 (1 is the highest), was "
                        + highest);
            }
            if (defaultLevel > 0 && highest > 0 && defaultLevel < highest) {
                throw new IllegalArgumentException(key + "default " + defaultLevel + " is above " + key + "highest "
                        + highest + " (1 is the highest level)");
            }
            if (defaultLevel > 0 || highest > 0) {
                byTenant.put(name, new Levels(defaultLevel, highest));
            }
        });
    }

    /**
     * The highest level a request of {@code tenant} can run at on a model with {@code levels} priority levels, whatever
     * it asks for, as the scheduler counts levels (0 the highest): known before the request is read.
     */
    public int highestIndex(Tenant tenant, int levels) {
        Levels l = byTenant.get(tenant.name());
        return l == null || l.highest() == 0 ? 0 : Math.min(l.highest(), levels) - 1;
    }

    /**
     * The level a request of {@code tenant} that asked for {@code asked} runs at, on a model with {@code
     * levels} priority levels: 0 when it runs at the model's default.
     */
    public int level(Tenant tenant, int asked, int levels) {
        Levels l = byTenant.get(tenant.name());
        if (l == null) {
            return asked;
        }
        int level = asked == 0 || asked > levels ? l.defaultLevel() : asked;
        return l.highest() > 0 && level > 0 && level < l.highest() ? l.highest() : level;
    }
}
