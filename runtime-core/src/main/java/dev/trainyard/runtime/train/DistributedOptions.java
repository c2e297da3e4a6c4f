package dev.trainyard.runtime.train;

import dev.trainyard.collectives.DataType;
import dev.trainyard.runtime.optim.FusedOptimizer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Settings of a {@link DistributedTrainer}. Immutable; change with the {@code with*} methods, each of
 * which copies the settings once ({@link #copy}) and changes one, so a new setting is one field, one
 * line in {@code copy} and its own {@code with} method.
 *
 * <ul>
 * <li>{@code bucketBytes}: gradient bytes per all-reduce (PyTorch DDP's default: 25 MiB)
 * <li>{@code firstBucketBytes}: the first bucket (last layers' gradients), small so communication starts early
 * <li>{@code overlap}: backward stage by stage, all-reducing each stage's buckets while earlier stages compute
 * <li>{@code stages}: how many stages the top-level SequentialBlock is cut into (with overlap)
 * <li>{@code compression}: FLOAT32 (none), FLOAT16 or BFLOAT16 on the wire
 * <li>{@code accumulationSteps}: micro-batches per optimizer step: gradients of the first k-1 are not synchronized
 * <li>{@code metricsFile}: where per-step timings are appended as JSON lines (empty: not written)
 * <li>{@code nonFinite}: what a step does when some rank's gradients hold NaN or infinity
 * <li>{@code gradientAsBucketView}: gradients live inside the buckets (CPU: no copy; DDP's
 *     {@code gradient_as_bucket_view}); when false, or on a GPU, they are copied into separate bucket tensors and back
 * <li>{@code optimizer}: how parameters are updated: a Trainyard fused optimizer, DJL's optimizer from the
 *     training config mapped onto one where its settings can be read, or DJL's own path
 * <li>{@code maxGradNorm}: clip gradients to this global L2 norm before the update (0: no clipping; fused optimizers only)
 * <li>{@code shardedOptimizer}: ZeRO-1: each rank keeps optimizer state for 1/N of the parameters (fused optimizers only)
 * <li>{@code lastBucketOnCallerThread}: the step's last all-reduce runs on the training thread when nothing
 *     else is in flight (see {@link #withLastBucketOnCallerThread})
 * <li>{@code bufferSync}: after each training forward, buffers (parameters without gradients, e.g. batch
 *     norm's running statistics) are averaged over the ranks while backward runs, so every rank holds the
 *     same ones after every step (see {@link #withBufferSync}); models without buffers pay nothing
 * </ul>
 */
public final class DistributedOptions {
    private long bucketBytes = 25L << 20;
    private long firstBucketBytes = 1L << 20;
    private boolean overlap = true;
    private int stages = 4;
    private DataType compression = DataType.FLOAT32;
    private int accumulationSteps = 1;
    private Optional<Path> metricsFile = Optional.empty();
    private NonFinitePolicy nonFinite = NonFinitePolicy.SKIP_STEP;
    private boolean gradientAsBucketView = true;
    private OptimizerChoice optimizer = OptimizerChoice.FROM_CONFIG;
    private double maxGradNorm;
    private boolean shardedOptimizer;
    private boolean lastBucketOnCallerThread = true;
    private boolean bufferSync = true;

    private DistributedOptions() {
    }

    public static DistributedOptions defaults() {
        return new DistributedOptions();
    }

    /** The one place that lists every setting. */
    private DistributedOptions copy() {
        DistributedOptions o = new DistributedOptions();
        o.bucketBytes = bucketBytes;
        o.firstBucketBytes = firstBucketBytes;
        o.overlap = overlap;
        o.stages = stages;
        o.compression = compression;
        o.accumulationSteps = accumulationSteps;
        o.metricsFile = metricsFile;
        o.nonFinite = nonFinite;
        o.gradientAsBucketView = gradientAsBucketView;
        o.optimizer = optimizer;
        o.maxGradNorm = maxGradNorm;
        o.shardedOptimizer = shardedOptimizer;
        o.lastBucketOnCallerThread = lastBucketOnCallerThread;
        o.bufferSync = bufferSync;
        return o;
    }

    public DistributedOptions withBucketBytes(long bytes) {
        requireBucket(bytes);
        DistributedOptions o = copy();
        o.bucketBytes = bytes;
        o.firstBucketBytes = Math.min(firstBucketBytes, bytes);
        return o;
    }

    public DistributedOptions withFirstBucketBytes(long bytes) {
        requireBucket(bytes);
        DistributedOptions o = copy();
        o.firstBucketBytes = bytes;
        return o;
    }

    private static void requireBucket(long bytes) {
        if (bytes < 4096) {
            throw new IllegalArgumentException("bucket sizes must be at least 4 KiB, got " + bytes);
        }
    }

    public DistributedOptions withOverlap(boolean on) {
        DistributedOptions o = copy();
        o.overlap = on;
        return o;
    }

    /**
     * Off: each rank keeps the buffers its own batches produced (DDP's {@code broadcast_buffers=False}),
     * saving one small broadcast per step; ranks' running statistics then differ.
     */
    public DistributedOptions withBufferSync(boolean on) {
        DistributedOptions o = copy();
        o.bufferSync = on;
        return o;
    }

    public DistributedOptions withStages(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("stages must be at least 1, got " + k);
        }
        DistributedOptions o = copy();
        o.stages = k;
        return o;
    }

    public DistributedOptions withCompression(DataType wire) {
        DistributedOptions o = copy();
        o.compression = wire;
        return o;
    }

    public DistributedOptions withAccumulationSteps(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("accumulationSteps must be at least 1, got " + k);
        }
        DistributedOptions o = copy();
        o.accumulationSteps = k;
        return o;
    }

    public DistributedOptions withMetricsFile(Path file) {
        DistributedOptions o = copy();
        o.metricsFile = Optional.of(file);
        return o;
    }

    public DistributedOptions withNonFinitePolicy(NonFinitePolicy policy) {
        DistributedOptions o = copy();
        o.nonFinite = policy;
        return o;
    }

    /** Update parameters with this fused optimizer (CPU, gradients as bucket views) whatever the training config says. */
    public DistributedOptions withOptimizer(FusedOptimizer fused) {
        DistributedOptions o = copy();
        o.optimizer = OptimizerChoice.of(fused);
        return o;
    }

    /** Keep DJL's own optimizer path (per parameter; its state is not in checkpoints). */
    public DistributedOptions withDjlOptimizer() {
        DistributedOptions o = copy();
        o.optimizer = OptimizerChoice.DJL;
        return o;
    }

    /** Clip gradients to this global L2 norm before each update, as {@code clip_grad_norm_} does (0: off). */
    public DistributedOptions withGradientClipping(double maxNorm) {
        if (!(maxNorm >= 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("the gradient clipping norm must be a positive number (0: off), got " + maxNorm);
        }
        DistributedOptions o = copy();
        o.maxGradNorm = maxNorm;
        return o;
    }

    /**
     * ZeRO-1: gradients are reduce-scattered, each rank updates and keeps optimizer state for its
     * shard of every bucket only, and the parameters are all-gathered (fused optimizers on CPU).
     */
    public DistributedOptions withShardedOptimizer(boolean on) {
        DistributedOptions o = copy();
        o.shardedOptimizer = on;
        return o;
    }

    public DistributedOptions withGradientAsBucketView(boolean view) {
        DistributedOptions o = copy();
        o.gradientAsBucketView = view;
        return o;
    }

    /**
     * On (the default): the all-reduce of the step's last bucket, launched when backward is over,
     * runs on the training thread whenever nothing else is in flight, instead of being handed to the
     * communicator's thread and waited for: two thread wake-ups fewer per step. Off: every bucket
     * goes to the communicator's thread, so code between {@code backward} and {@code step()} (DJL's
     * training listeners, evaluators) overlaps the last all-reduce.
     */
    public DistributedOptions withLastBucketOnCallerThread(boolean on) {
        DistributedOptions o = copy();
        o.lastBucketOnCallerThread = on;
        return o;
    }

    public long bucketBytes() {
        return bucketBytes;
    }

    public long firstBucketBytes() {
        return firstBucketBytes;
    }

    public boolean overlap() {
        return overlap;
    }

    public int stages() {
        return stages;
    }

    public DataType compression() {
        return compression;
    }

    public int accumulationSteps() {
        return accumulationSteps;
    }

    public Optional<Path> metricsFile() {
        return metricsFile;
    }

    public NonFinitePolicy nonFinite() {
        return nonFinite;
    }

    public boolean gradientAsBucketView() {
        return gradientAsBucketView;
    }

    public OptimizerChoice optimizer() {
        return optimizer;
    }

    public double maxGradNorm() {
        return maxGradNorm;
    }

    public boolean shardedOptimizer() {
        return shardedOptimizer;
    }

    public boolean lastBucketOnCallerThread() {
        return lastBucketOnCallerThread;
    }

    public boolean bufferSync() {
        return bufferSync;
    }
}
