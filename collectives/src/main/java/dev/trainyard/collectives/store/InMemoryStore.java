package dev.trainyard.collectives.store;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The store's state: a map plus the waiters blocked on missing keys. Waits never block a
 * thread here: {@link #whenPresent} returns a future completed by the write that brings the
 * last missing key, or by the timeout with the keys still missing; cancelling the future (the
 * server does when its call is cancelled) forgets the waiter at once. Waiters are indexed by the
 * keys they still miss, so a write touches only the waiters of its own key, not every waiter.
 * Totals are bounded by {@link StoreLimits}. The gRPC server serves this.
 */
public final class InMemoryStore implements Store {
    private final Map<String, byte[]> data = new HashMap<>();
    /** Waiters by a key they miss; a waiter is listed under each of its missing keys. */
    private final Map<String, List<Waiter>> waitersByKey = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "trainyard-store-timer");
        t.setDaemon(true);
        return t;
    });
    private final Duration timeout;
    private final StoreLimits limits;
    private long bytes;
    private int waiterCount;

    public InMemoryStore(Duration timeout) {
        this(timeout, StoreLimits.DEFAULT);
    }

    public InMemoryStore(Duration timeout, StoreLimits limits) {
        this.timeout = timeout;
        this.limits = limits;
    }

    private static final class Waiter {
        final List<String> keys;
        final CompletableFuture<List<String>> result = new CompletableFuture<>();
        /** Keys still missing when last counted; 0 means: count again, then complete. */
        int missing;
        boolean done;
        ScheduledFuture<?> expiry;

        Waiter(List<String> keys) {
            this.keys = keys;
        }
    }

    /**
     * Completes with an empty list once all keys exist, or with the missing keys after {@code timeout}.
     *
     * @throws StoreLimitException when the wait names too many keys or too many waits are pending
     */
    public CompletableFuture<List<String>> whenPresent(List<String> keys, Duration timeout) {
        if (keys.size() > limits.maxKeysPerWait()) {
            throw new StoreLimitException("a wait may name at most " + limits.maxKeysPerWait() + " keys, this one names " + keys.size());
        }
        Waiter w = new Waiter(List.copyOf(keys));
        synchronized (this) {
            if (!register(w)) {
                return CompletableFuture.completedFuture(List.of());
            }
            if (waiterCount >= limits.maxWaiters()) {
                unregister(w);
                throw new StoreLimitException("the store already holds " + waiterCount + " pending waits, its limit");
            }
            waiterCount++;
            w.expiry = timer.schedule(() -> expire(w), Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        w.result.whenComplete((v, e) -> {
            if (w.result.isCancelled()) {
                forget(w);
            }
        });
        return w.result;
    }

    /** Lists {@code w} under each key it misses; false if it misses none. Called with the lock held. */
    private boolean register(Waiter w) {
        w.missing = 0;
        for (String k : w.keys) {
            if (!data.containsKey(k)) {
                waitersByKey.computeIfAbsent(k, x -> new ArrayList<>(1)).add(w);
                w.missing++;
            }
        }
        return w.missing > 0;
    }

    private void unregister(Waiter w) {
        for (String k : w.keys) {
            List<Waiter> list = waitersByKey.get(k);
            if (list != null && list.removeIf(x -> x == w) && list.isEmpty()) {
                waitersByKey.remove(k);
            }
        }
    }

    /** Ends a pending wait (expired or cancelled); false if it had already ended. */
    private synchronized boolean forget(Waiter w) {
        if (w.done) {
            return false;
        }
        w.done = true;
        waiterCount--;
        unregister(w);
        w.expiry.cancel(false);
        return true;
    }

    private void expire(Waiter w) {
        List<String> stillMissing;
        synchronized (this) {
            if (!forget(w)) {
                return;
            }
            stillMissing = missing(w.keys);
        }
        w.result.complete(stillMissing);
    }

    private List<String> missing(List<String> keys) {
        return keys.stream().filter(k -> !data.containsKey(k)).toList();
    }

    /**
     * {@code key} has just appeared: its waiters have one key less to wait for. Called with the lock
     * held: completing runs only non-blocking reply callbacks, so that is safe. A waiter whose count
     * reaches zero counts again (a key it saw may have been deleted since) and waits on if one is missing.
     */
    private void keyAppeared(String key) {
        List<Waiter> list = waitersByKey.remove(key);
        if (list == null) {
            return;
        }
        for (Waiter w : list) {
            if (--w.missing == 0 && !w.done && !register(w)) {
                w.done = true;
                waiterCount--;
                w.expiry.cancel(false);
                w.result.complete(List.of());
            }
        }
    }

    /** Stores {@code value} under {@code key} within the limits. Called with the lock held. */
    private void put(String key, byte[] value) {
        byte[] old = data.get(key);
        long grown = old == null ? key.length() + (long) value.length : value.length - (long) old.length;
        if (old == null && data.size() >= limits.maxKeys()) {
            throw new StoreLimitException("the store already holds " + data.size() + " keys, its limit; '" + key + "' was not stored");
        }
        if (bytes + grown > limits.maxBytes()) {
            throw new StoreLimitException("storing '" + key + "' would take the store past its limit of " + limits.maxBytes()
                    + " bytes (it holds " + bytes + ")");
        }
        data.put(key, value);
        bytes += grown;
        if (old == null) {
            keyAppeared(key);
        }
    }

    /** How many waits are pending (tests use it to know a wait has reached the store). */
    synchronized int pendingWaits() {
        return waiterCount;
    }

    @Override
    public synchronized void set(String key, byte[] value) {
        put(key, value.clone());
    }

    /** The value, or null if absent; does not wait. */
    public synchronized byte[] peek(String key) {
        byte[] v = data.get(key);
        return v == null ? null : v.clone();
    }

    @Override
    public byte[] get(String key, Duration timeout) {
        await(List.of(key), timeout);
        byte[] v = peek(key);
        if (v == null) { // deleted between the wake-up and the read
            throw new StoreTimeoutException(List.of(key), timeout);
        }
        return v;
    }

    @Override
    public void await(List<String> keys, Duration timeout) {
        List<String> missing = whenPresent(keys, timeout).join();
        if (!missing.isEmpty()) {
            throw new StoreTimeoutException(missing, timeout);
        }
    }

    @Override
    public synchronized long add(String key, long delta) {
        byte[] old = data.get(key);
        long value;
        try {
            value = (old == null ? 0 : Long.parseLong(new String(old, StandardCharsets.UTF_8))) + delta;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("store key '" + key + "' holds a non-counter value; add() needs a decimal integer", e);
        }
        put(key, Long.toString(value).getBytes(StandardCharsets.UTF_8));
        return value;
    }

    @Override
    public synchronized byte[] compareAndSet(String key, byte[] expected, byte[] desired) {
        byte[] current = data.get(key);
        boolean matches = current == null ? expected.length == 0 : Arrays.equals(current, expected);
        if (matches) {
            put(key, desired.clone());
            return desired.clone();
        }
        return current == null ? new byte[0] : current.clone();
    }

    @Override
    public synchronized boolean delete(String key) {
        byte[] old = data.remove(key);
        if (old == null) {
            return false;
        }
        bytes -= key.length() + (long) old.length;
        return true;
    }

    @Override
    public synchronized boolean check(List<String> keys) {
        return missing(keys).isEmpty();
    }

    @Override
    public Duration timeout() {
        return timeout;
    }

    /** Fails every waiter (the server is going away) and stops the timer. */
    @Override
    public void close() {
        Set<Waiter> pending = Collections.newSetFromMap(new IdentityHashMap<>());
        synchronized (this) {
            waitersByKey.values().forEach(pending::addAll);
            waitersByKey.clear();
            pending.forEach(w -> w.done = true);
            waiterCount = 0;
        }
        for (Waiter w : pending) {
            w.result.completeExceptionally(new StoreException("store is shutting down", null));
        }
        timer.shutdownNow();
    }
}
