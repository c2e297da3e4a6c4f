package dev.trainyard.runtime.train;

import java.nio.FloatBuffer;
import java.util.List;

/**
 * The gradients of a {@link BucketPlan}, all-reduced bucket by bucket while backward runs. Two
 * layouts: {@link ViewGradientBuckets} (CPU: gradients live inside flat host buffers, nothing is
 * copied) and {@link CopiedGradientBuckets} (GPU, or on request: gradients are copied into one
 * contiguous tensor per bucket on their device and back after the all-reduce).
 */
interface GradientBuckets {

    BucketPlan plan();

    /**
     * Starts bucket {@code b}'s all-reduce (or, with one rank, only checks it). {@code last}: no
     * bucket follows in this step, so nothing is left to overlap with it and the caller waits for
     * it next; it may then run on the calling thread (see {@code Communicator.allReduceOnCallerThread}).
     */
    void launch(BucketPlan.Bucket b, boolean last);

    /**
     * Starts the all-reduce of every bucket of {@code stage}, whose gradients backward has just
     * finished (stage 0 comes last); with {@code lastOnCallerThread} the step's last bucket is
     * launched as {@code last}.
     */
    default void launchStage(int stage, boolean lastOnCallerThread) {
        List<BucketPlan.Bucket> buckets = plan().buckets();
        int lastOfStep = -1;
        for (BucketPlan.Bucket b : buckets) {
            if (b.stage() == 0) {
                lastOfStep = b.index();
            }
        }
        for (BucketPlan.Bucket b : buckets) {
            if (b.stage() == stage) {
                launch(b, lastOnCallerThread && b.index() == lastOfStep);
            }
        }
    }

    /** Waits for every launched bucket; afterwards the gradients hold the average over all ranks. */
    void awaitAll();

    /** True if some rank's gradients held NaN or infinity in the step just awaited. */
    boolean stepHadNonFinite();

    /** The first parameter whose gradient was non-finite on this rank in that step, or null. */
    String localNonFiniteParameter();

    /** Zeroes every gradient (a skipped step must not carry its gradients into the next one). */
    void zeroAll();

    /**
     * Each bucket's gradients as host floats in the bucket's layout, which an optimizer may read
     * and zero in place after {@link #awaitAll}; null where gradients live in device tensors.
     */
    FloatBuffer[] hostGradients();

    /**
     * Sharded (ZeRO-1) buckets: the squared L2 norm of every rank's averaged shard summed, found in
     * {@link #awaitAll}; NaN for buckets all-reduced whole (their {@link #hostGradients} hold it all).
     */
    default double shardedSquaredNorm() {
        return Double.NaN;
    }

    /** Bytes one step all-reduces. */
    long bytesPerStep();

    /** When each bucket's all-reduce of the last awaited step started and ended. */
    InFlightBuckets timing();
}
