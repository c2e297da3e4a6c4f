package dev.trainyard.collectives.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The store-level all-gather that set-up steps are made of (data-plane endpoints, backend
 * verdicts, the host segment's verdicts): every rank publishes one value under
 * {@code prefix + rank} and reads everybody's. One wait covers all the keys, so a timeout names
 * every rank that did not publish, not just the first one asked for.
 */
public final class StoreAllGather {
    private StoreAllGather() {
    }

    /** Ranks that did not publish within the timeout, for the caller's own error. */
    public static final class MissingRanksException extends StoreTimeoutException {
        private static final long serialVersionUID = 1L;
        private final List<Integer> missingRanks;

        MissingRanksException(StoreTimeoutException cause, List<Integer> missingRanks, Duration timeout) {
            super(cause.missingKeys(), timeout);
            this.missingRanks = List.copyOf(missingRanks);
        }

        public List<Integer> missingRanks() {
            return missingRanks;
        }
    }

    /**
     * Publishes {@code value} as {@code prefix + rank}, waits for every rank's, and returns them by rank.
     *
     * @throws MissingRanksException naming the ranks whose value did not appear within {@code timeout}
     */
    public static List<String> allGather(Store store, String prefix, int rank, int size, String value, Duration timeout) {
        store.setString(prefix + rank, value);
        List<String> keys = new ArrayList<>(size);
        for (int r = 0; r < size; r++) {
            keys.add(prefix + r);
        }
        try {
            store.await(keys, timeout);
        } catch (StoreTimeoutException e) {
            List<Integer> missing = e.missingKeys().stream().map(k -> Integer.parseInt(k.substring(k.lastIndexOf('/') + 1)))
                    .distinct().sorted().toList();
            throw new MissingRanksException(e, missing, timeout);
        }
        List<String> values = new ArrayList<>(size);
        for (String key : keys) {
            values.add(store.getString(key, timeout));
        }
        return values;
    }
}
