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
 * Work of one communicator completes in issue order. Only the backend that issued it can finish
 * it: it keeps the {@link Completion} and hands out the work, so a caller holding a {@code Work}
 * can wait for it but never complete or fail it.
 */
public final class Work {
    private final Fingerprint fingerprint;
    private final CompletableFuture<Void> future = new CompletableFuture<>();
    private volatile long completedNanos;

    private Work(Fingerprint fingerprint) {
        this.fingerprint = fingerprint;
    }

    /** The backend's side of one work: it finishes the work, once. */
    public static final class Completion {
        private final Work work;

        private Completion(Work work) {
            this.work = work;
        }

        /** What the caller gets. */
        public Work work() {
            return work;
        }

        public void complete() {
            work.completedNanos = System.nanoTime();
            work.future.complete(null);
        }

        public void fail(Throwable cause) {
            work.future.completeExceptionally(cause);
        }
    }

    /** A new work for the collective {@code fingerprint} names, and the completion that finishes it. */
    public static Completion issue(Fingerprint fingerprint) {
        return new Completion(new Work(fingerprint));
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
