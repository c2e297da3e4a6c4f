package dev.trainyard.collectives;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Handle on one collective in flight (c10d's {@code Work}). Completes successfully once the
 * result is in the caller's buffer, or exceptionally with a {@link CollectiveException}.
 * Work of one communicator completes in issue order.
 */
public final class Work {
    private final Fingerprint fingerprint;
    private final CompletableFuture<Void> future = new CompletableFuture<>();
    private volatile long completedNanos;

    public Work(Fingerprint fingerprint) {
        this.fingerprint = fingerprint;
    }

    public Fingerprint fingerprint() {
        return fingerprint;
    }

    public boolean isDone() {
        return future.isDone();
    }

    /**
     * Waits at most {@code timeout}.
     *
     * @return true if the work finished successfully, false if it is still running
     * @throws CollectiveException if it failed
     */
    public boolean await(Duration timeout) {
        try {
            future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("interrupted while waiting for " + fingerprint);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    /**
     * Waits until the work finishes. It cannot wait forever: every collective has its own timeout.
     *
     * @throws CollectiveException if it failed
     */
    public void await() {
        try {
            future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("interrupted while waiting for " + fingerprint);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    /** The failure, or null if the work is running or succeeded. */
    public Throwable exception() {
        if (!future.isCompletedExceptionally()) {
            return null;
        }
        try {
            future.join();
            return null;
        } catch (CancellationException e) {
            return e;
        } catch (RuntimeException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    /** For composition (e.g. {@code thenRun}); completes on the communicator's thread. */
    public CompletionStage<Void> toCompletionStage() {
        return future.minimalCompletionStage();
    }

    /** {@link System#nanoTime()} when the work succeeded, 0 before (or if it failed): for timing communication. */
    public long completedNanos() {
        return completedNanos;
    }

    /** Called by the backend. */
    public void complete() {
        completedNanos = System.nanoTime();
        future.complete(null);
    }

    /** Called by the backend. */
    public void fail(Throwable cause) {
        future.completeExceptionally(cause);
    }

    private RuntimeException rethrow(Throwable cause) {
        if (cause instanceof CollectiveException ce) {
            return ce; // keeps the type and the ranks held responsible
        }
        return new CollectiveException(fingerprint + " failed: " + cause, java.util.List.of(), cause);
    }

    @Override
    public String toString() {
        return "Work[" + fingerprint + (isDone() ? (exception() == null ? ", done" : ", failed") : ", running") + "]";
    }
}
