package io.sluice.model;

/** Lifecycle of one model version: LOADING, then WARMING, then READY; or FAILED with a reason. */
public enum ModelState {
    LOADING,
    WARMING,
    READY,
    FAILED;

    /** True once the model will not change state on its own any more. */
    public boolean settled() {
        return this == READY || this == FAILED;
    }
}
