package io.sluice.admission;

/**
 * Who is calling: a configured tenant, or the one anonymous tenant when authentication is off.
 *
 * @param name the tenant's name in {@code sluice.tenants."<name>"}
 */
public record Tenant(String name) {

    /** Everyone, when authentication is off. */
    public static final Tenant ANONYMOUS = new Tenant("anonymous");
}
