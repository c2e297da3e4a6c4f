package dev.trainyard.collectives.store;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Rendezvous key-value store (like torch's {@code TCPStore}): ranks publish endpoints and
 * meet here. Reads wait for keys to appear, always with a timeout; a timeout throws
 * {@link StoreTimeoutException} listing the keys still missing.
 */
public interface Store extends AutoCloseable {

    void set(String key, byte[] value);

    /** Waits up to {@link #timeout()} for {@code key}, then returns its value. */
    default byte[] get(String key) {
        return get(key, timeout());
    }

    byte[] get(String key, Duration timeout);

    /** Waits until every key exists. */
    void await(List<String> keys, Duration timeout);

    /** Atomically adds {@code delta} to the counter at {@code key} (0 if absent) and returns the new value. */
    long add(String key, long delta);

    /**
     * Sets {@code key} to {@code desired} if its value equals {@code expected} (an absent key
     * matches an empty {@code expected}); returns the value after the operation.
     */
    byte[] compareAndSet(String key, byte[] expected, byte[] desired);

    /** Returns true if the key existed. */
    boolean delete(String key);

    /** True if every key exists now; does not wait. */
    boolean check(List<String> keys);

    /** Default wait timeout of {@link #get(String)}. */
    Duration timeout();

    /** A view whose keys all live under {@code prefix} (e.g. one per process group). */
    default Store prefixed(String prefix) {
        return new PrefixStore(this, prefix);
    }

    default void setString(String key, String value) {
        set(key, value.getBytes(StandardCharsets.UTF_8));
    }

    default String getString(String key, Duration timeout) {
        return new String(get(key, timeout), StandardCharsets.UTF_8);
    }

    @Override
    default void close() {
    }
}
