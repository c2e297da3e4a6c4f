package dev.trainyard.collectives.store;

/** A call would cross one of the store's {@link StoreLimits}; the message names which. */
public final class StoreLimitException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreLimitException(String message) {
        super(message, null);
    }
}
