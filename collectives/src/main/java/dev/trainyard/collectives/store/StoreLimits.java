package dev.trainyard.collectives.store;

/**
 * Totals the store holds at most, so that no token holder (a buggy user program calling
 * {@code pg.store()} included) can exhaust the launcher that hosts it and so end the job. A call
 * that would cross one is refused with {@link StoreLimitException} (gRPC {@code RESOURCE_EXHAUSTED})
 * naming the limit; nothing already stored changes.
 *
 * @param maxKeys         keys stored at once
 * @param maxBytes        key characters plus value bytes, summed over every key
 * @param maxWaiters      waits pending at once (each holds a gRPC call and a timer entry)
 * @param maxKeysPerWait  keys one wait may name
 */
public record StoreLimits(int maxKeys, long maxBytes, int maxWaiters, int maxKeysPerWait) {

    /**
     * Far above what rendezvous needs (a handful of keys per rank and restart, values of a few
     * hundred bytes; a wait names at most one key per rank), far below what would strain the
     * launcher's heap.
     */
    public static final StoreLimits DEFAULT = new StoreLimits(1 << 20, 256L << 20, 1 << 17, 1 << 17);

    public StoreLimits {
        if (maxKeys < 1 || maxBytes < 1 || maxWaiters < 1 || maxKeysPerWait < 1) {
            throw new IllegalArgumentException("store limits must be positive: " + maxKeys + " keys, " + maxBytes + " bytes, "
                    + maxWaiters + " waiters, " + maxKeysPerWait + " keys per wait");
        }
    }
}
