package io.sluice.runtime;

/** A model version could not be turned into a session; the message is the reason shown in FAILED. */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }
}
