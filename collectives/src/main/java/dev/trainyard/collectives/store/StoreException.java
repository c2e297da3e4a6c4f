package dev.trainyard.collectives.store;

/** The store refused a call or could not be reached. */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
