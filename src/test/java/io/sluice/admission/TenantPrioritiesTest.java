package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.sluice.config.SluiceConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The level a tenant's request runs at: its default when it asks for none, never above its highest. */
class TenantPrioritiesTest {

    /** Levels read with authentication on; each tenant named in {@code properties} gets a key. */
    private static TenantPriorities priorities(Map<String, String> properties) {
        Map<String, String> all = new java.util.HashMap<>(properties);
        all.putIfAbsent("sluice.auth.enabled", "true");
        properties.keySet().stream().filter(k -> k.startsWith("sluice.tenants."))
                .map(k -> k.split("\\.")[2])
                .forEach(t -> all.putIfAbsent("sluice.tenants." + t + ".api-key-sha256", Tenants.sha256(t + "-key")));
        return read(all);
    }

    private static TenantPriorities read(Map<String, String> properties) {
        return new TenantPriorities(new SmallRyeConfigBuilder().withMapping(SluiceConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // "10m", as Quarkus reads it
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build()
                .getConfigMapping(SluiceConfig.class));
    }

    @Test
    void aTenantsDefaultAndHighestLevelShapeWhatItsRequestsAskFor() {
        TenantPriorities p = priorities(Map.of(
                "sluice.tenants.interactive.priority.default", "1",
                "sluice.tenants.batch.priority.default", "3",
                "sluice.tenants.batch.priority.highest", "2",
                "sluice.tenants.capped.priority.highest", "2",
                "sluice.tenants.plain.rate-limit.rate", "5"));
        Tenant interactive = new Tenant("interactive");
        Tenant batch = new Tenant("batch");
        Tenant capped = new Tenant("capped");
        int levels = 3; // the model's
        assertThat(p.level(interactive, 0, levels)).isEqualTo(1);
        assertThat(p.level(interactive, 3, levels)).isEqualTo(3); // what a request asks for wins over the default
        // past the model's levels is no level asked for, as Triton reads it: the tenant's default
        assertThat(p.level(interactive, 9, levels)).isEqualTo(1);
        assertThat(p.level(batch, 0, levels)).isEqualTo(3);
        assertThat(p.level(batch, 1, levels)).isEqualTo(2); // lowered to its highest
        assertThat(p.level(batch, 2, levels)).isEqualTo(2);
        assertThat(p.level(batch, 5, levels)).isEqualTo(3);
        assertThat(p.level(capped, 0, levels)).isZero(); // no default: the model's own, its lowest
        assertThat(p.level(capped, 1, levels)).isEqualTo(2);
        assertThat(p.level(capped, 1, 1)).isEqualTo(2); // past a one-level model's levels: its default
        // a tenant without levels, one not configured at all, and the anonymous one ask for what they like
        assertThat(p.level(new Tenant("plain"), 1, levels)).isEqualTo(1);
        assertThat(p.level(new Tenant("stranger"), 0, levels)).isZero();
        // the best level each can reach, as the scheduler counts them (0 the highest), before a request is read
        assertThat(p.highestIndex(interactive, levels)).isZero();
        assertThat(p.highestIndex(batch, levels)).isEqualTo(1);
        assertThat(p.highestIndex(capped, levels)).isEqualTo(1);
        assertThat(p.highestIndex(capped, 1)).isZero(); // a one-level model's only level
        assertThat(p.highestIndex(new Tenant("stranger"), levels)).isZero();
        assertThat(p.level(Tenant.ANONYMOUS, 2, levels)).isEqualTo(2);
    }

    @Test
    void withAuthenticationOffOnlyTheAnonymousTenantsLevelsAreReadAndLeftoversStopNothing() {
        TenantPriorities p = read(Map.of(
                "sluice.tenants.anonymous.priority.default", "2",
                "sluice.tenants.leftover.priority.default", "0"));
        assertThat(p.level(Tenant.ANONYMOUS, 0, 3)).isEqualTo(2);
        // with authentication on, a tenant without a key never calls: its levels are not read either
        TenantPriorities on = read(Map.of("sluice.auth.enabled", "true",
                "sluice.tenants.keyless.priority.default", "0",
                "sluice.tenants.anonymous.priority.default", "0"));
        assertThat(on.level(Tenant.ANONYMOUS, 0, 3)).isZero();
    }

    @Test
    void levelsThatCannotBeAreRefusedByName() {
        assertThatThrownBy(() -> priorities(Map.of("sluice.tenants.t.priority.default", "0")))
                .hasMessageContaining("sluice.tenants.\"t\".priority.default must be a level >= 1");
        assertThatThrownBy(() -> priorities(Map.of("sluice.tenants.t.priority.highest", "-1")))
                .hasMessageContaining("sluice.tenants.\"t\".priority.highest must be a level >= 1");
        assertThatThrownBy(() -> priorities(Map.of("sluice.tenants.t.priority.default", "1",
                "sluice.tenants.t.priority.highest", "2")))
                .hasMessageContaining("default 1 is above sluice.tenants.\"t\".priority.highest 2");
    }
}
