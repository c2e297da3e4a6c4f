package dev.trainyard.collectives.store;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The store's state: a map plus the waiters blocked on missing keys. Waits never block a
 * thread here: {@link #whenPresent} returns a future completed by the write that brings the
 * last missing key, or by the timeout with the keys still missing. The gRPC server serves this.
 */
public final class InMemoryStore implements Store {
    private final Map<String, byte[]> data = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "trainyard-store-timer");
        t.setDaemon(true);
        return t;
    });
    private final Duration timeout;

    public InMemoryStore(Duration timeout) {
        this.timeout = timeout;
    }

    private static final class Waiter {
        final List<String> keys;
        final CompletableFuture<List<String>> result = new CompletableFuture<>();
        ScheduledFuture<?> expiry;

        Waiter(List<String> keys) {
            this.keys = keys;
        }
    }

    /** Completes with an empty list once all keys exist, or with the missing keys after {@code timeout}. */
    public CompletableFuture<List<String>> whenPresent(List<String> keys, Duration timeout) {
        Waiter w = new Waiter(List.copyOf(keys));
        synchronized (this) {
            if (missing(w.keys).isEmpty()) {
                return CompletableFuture.completedFuture(List.of());
            }
            waiters.add(w);
            w.expiry = timer.schedule(() -> expire(w), Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        return w.result;
    }

    private void expire(Waiter w) {
        List<String> stillMissing;
        synchronized (this) {
            if (!waiters.remove(w)) {
                return;
            }
            stillMissing = missing(w.keys);
        }
        w.result.complete(stillMissing);
    }

    private List<String> missing(List<String> keys) {
        return keys.stream().filter(k -> !data.containsKey(k)).toList();
    }

    /** Called with the lock held: completing runs only non-blocking reply callbacks, so that is safe. */
    private void wakeWaiters() {
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (missing(w.keys).isEmpty()) {
                it.remove();
                w.expiry.cancel(false);
                w.result.complete(List.of());
            }
        }
    }

    /** How many waits are pending (tests use it to know a wait has reached the store). */
    synchronized int pendingWaits() {
        return waiters.size();
    }

    @Override
    public synchronized void set(String key, byte[] value) {
        data.put(key, value.clone());
        wakeWaiters();
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
        data.put(key, Long.toString(value).getBytes(StandardCharsets.UTF_8));
        wakeWaiters();
        return value;
    }

    @Override
    public synchronized byte[] compareAndSet(String key, byte[] expected, byte[] desired) {
        byte[] current = data.get(key);
        boolean matches = current == null ? expected.length == 0 : Arrays.equals(current, expected);
        if (matches) {
            data.put(key, desired.clone());
            wakeWaiters();
            return desired.clone();
        }
        return current == null ? new byte[0] : current.clone();
    }

    @Override
    public synchronized boolean delete(String key) {
        return data.remove(key) != null;
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
        List<Waiter> pending;
        synchronized (this) {
            pending = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : pending) {
            w.result.completeExceptionally(new StoreException("store is shutting down", null));
        }
        timer.shutdownNow();
    }
}
