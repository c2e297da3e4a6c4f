package dev.trainyard.collectives.store;

import java.time.Duration;
import java.util.List;

/** Namespaces keys under a prefix, so several groups or restarts share one store without clashing. */
final class PrefixStore implements Store {
    private final Store inner;
    private final String prefix;

    PrefixStore(Store inner, String prefix) {
        this.inner = inner;
        this.prefix = prefix;
    }

    private String k(String key) {
        return prefix + key;
    }

    private List<String> k(List<String> keys) {
        return keys.stream().map(this::k).toList();
    }

    @Override
    public void set(String key, byte[] value) {
        inner.set(k(key), value);
    }

    @Override
    public byte[] get(String key, Duration timeout) {
        try {
            return inner.get(k(key), timeout);
        } catch (StoreTimeoutException e) {
            throw unprefixed(e, timeout);
        }
    }

    @Override
    public void await(List<String> keys, Duration timeout) {
        try {
            inner.await(k(keys), timeout);
        } catch (StoreTimeoutException e) {
            throw unprefixed(e, timeout);
        }
    }

    /** Reports missing keys the way the caller named them. */
    private StoreTimeoutException unprefixed(StoreTimeoutException e, Duration timeout) {
        return new StoreTimeoutException(e.missingKeys().stream()
                .map(m -> m.startsWith(prefix) ? m.substring(prefix.length()) : m).toList(), timeout);
    }

    @Override
    public long add(String key, long delta) {
        return inner.add(k(key), delta);
    }

    @Override
    public byte[] compareAndSet(String key, byte[] expected, byte[] desired) {
        return inner.compareAndSet(k(key), expected, desired);
    }

    @Override
    public boolean delete(String key) {
        return inner.delete(k(key));
    }

    @Override
    public boolean check(List<String> keys) {
        return inner.check(k(keys));
    }

    @Override
    public Duration timeout() {
        return inner.timeout();
    }

    @Override
    public Store prefixed(String more) {
        return new PrefixStore(inner, prefix + more);
    }
}
