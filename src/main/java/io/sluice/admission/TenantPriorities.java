package io.sluice.admission;

import io.sluice.config.SluiceConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;

/**
 * The priority level each tenant's requests run at ({@code sluice.tenants."<name>".priority}): a tenant's
 * {@code default} for a request that asks for none, and its {@code highest}, above which a request is
 * lowered, so that a client cannot put itself ahead of the others by asking. Levels are Triton's: 1 is the
 * highest, 0 asks for none. With authentication off, the one anonymous tenant reads {@code
 * sluice.tenants.anonymous.priority}.
 */
@ApplicationScoped
public class TenantPriorities {

    /** One tenant's levels; 0 for one not set. */
    record Levels(int defaultLevel, int highest) {}

    private final Map<String, Levels> byTenant = new HashMap<>();

    @Inject
    public TenantPriorities(SluiceConfig config) {
        config.tenants().forEach((name, tenant) -> {
            int defaultLevel = tenant.priority().defaultLevel().orElse(0);
            int highest = tenant.priority().highest().orElse(0);
            String key = "sluice.tenants.\"" + name + "\".priority.";
            if (tenant.priority().defaultLevel().isPresent() && defaultLevel < 1) {
                throw new IllegalArgumentException(key + "default must be a level >= 1 (1 is the highest), was " + defaultLevel);
            }
            if (tenant.priority().highest().isPresent() && highest < 1) {
                throw new IllegalArgumentException(key + "highest must be a level >= 1 (1 is the highest), was " + highest);
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

    /** The level a request of {@code tenant} that asked for {@code asked} (0: none) runs at. */
    public int level(Tenant tenant, int asked) {
        Levels levels = byTenant.get(tenant.name());
        if (levels == null) {
            return asked;
        }
        int level = asked == 0 ? levels.defaultLevel() : asked;
        return levels.highest() > 0 && level > 0 && level < levels.highest() ? levels.highest() : level;
    }
}
