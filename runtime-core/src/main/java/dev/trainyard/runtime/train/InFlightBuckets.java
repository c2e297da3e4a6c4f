package dev.trainyard.runtime.train;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;

/** The all-reduces of one step, one per bucket, and when each ran: awaited in launch order. */
final class InFlightBuckets {
    private final Work[] inFlight;
    private final long[] launchNanos;
    /** When each bucket's all-reduce of the last awaited step completed (0: not sent), for the timeline. */
    private final long[] doneNanos;
    private long commNanos;
    private long callerThreadNanos;

    InFlightBuckets(int buckets) {
        inFlight = new Work[buckets];
        launchNanos = new long[buckets];
        doneNanos = new long[buckets];
    }

    /** Records {@link System#nanoTime()} as bucket {@code i}'s launch; call right before issuing it. */
    void launching(int i) {
        launchNanos[i] = System.nanoTime();
    }

    /**
     * Starts a bucket's all-reduce; the step's {@code last} one on the calling thread when the
     * communicator is idle (nothing is left to overlap with it, and the caller waits for it next).
     */
    static Work allReduce(Communicator comm, ByteBuffer bucket, DataType type, ReduceOp op, boolean last) {
        return last ? comm.allReduceOnCallerThread(bucket, type, op) : comm.allReduceAsync(bucket, type, op);
    }

    void launched(int i, Work work) {
        inFlight[i] = work;
        if (work.isDone()) {
            // it ran on the caller's thread (Communicator.allReduceOnCallerThread): the caller waited for all of it
            callerThreadNanos += System.nanoTime() - launchNanos[i];
        }
    }

    /** Time the caller spent running all-reduces itself since the last call: waiting, though inside backward. */
    long takeCallerThreadNanos() {
        long n = callerThreadNanos;
        callerThreadNanos = 0;
        return n;
    }

    /** Waits for every bucket in flight, in index order, calling {@code afterEach} once bucket i's result is in. */
    void awaitAll(IntConsumer afterEach) {
        long busyUntil = 0;
        commNanos = 0;
        for (int i = 0; i < inFlight.length; i++) {
            doneNanos[i] = 0;
            if (inFlight[i] != null) {
                inFlight[i].await();
                doneNanos[i] = inFlight[i].completedNanos();
                // buckets run one after another in launch order: their union is the time communication was in flight
                long from = Math.max(launchNanos[i], busyUntil);
                busyUntil = Math.max(busyUntil, inFlight[i].completedNanos());
                commNanos += Math.max(0, busyUntil - from);
                inFlight[i] = null;
                afterEach.accept(i);
            }
        }
    }

    int bucketCount() {
        return inFlight.length;
    }

    /** {@link System#nanoTime()} when bucket {@code i}'s all-reduce of the last awaited step started. */
    long launchNanos(int i) {
        return launchNanos[i];
    }

    /** ... and when it completed; 0 if the bucket was not sent in that step. */
    long doneNanos(int i) {
        return doneNanos[i];
    }

    /** How long the last awaited step had at least one all-reduce in flight. */
    long lastCommNanos() {
        return commNanos;
    }
}
