package dev.trainyard.collectives.store;

import java.time.Duration;
import java.util.List;

/** Keys did not appear in time; {@link #missingKeys()} says which. */
public class StoreTimeoutException extends StoreException {
    private static final long serialVersionUID = 1L;
    private final List<String> missingKeys;

    public StoreTimeoutException(List<String> missingKeys, Duration timeout) {
        super("timed out after " + timeout.toMillis() + " ms waiting for store keys " + missingKeys
                + " (still missing); the process that should set them has not started, crashed, or uses another store", null);
        this.missingKeys = List.copyOf(missingKeys);
    }

    public List<String> missingKeys() {
        return missingKeys;
    }
}
