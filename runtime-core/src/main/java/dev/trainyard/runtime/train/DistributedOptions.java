package dev.trainyard.runtime.train;

import dev.trainyard.collectives.DataType;
import dev.trainyard.runtime.optim.FusedOptimizer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Settings of a {@link DistributedTrainer}; change with the {@code with*} methods.
 *
 * @param bucketBytes       gradient bytes per all-reduce (PyTorch DDP's default: 25 MiB)
 * @param firstBucketBytes  the first bucket (last layers' gradients), small so communication starts early
 * @param overlap           backward stage by stage, all-reducing each stage's buckets while earlier stages compute
 * @param stages            how many stages the top-level SequentialBlock is cut into (with overlap)
 * @param compression       FLOAT32 (none), FLOAT16 or BFLOAT16 on the wire
 * @param accumulationSteps micro-batches per optimizer step: gradients of the first k-1 are not synchronized
 * @param metricsFile       where per-step timings are appended as JSON lines (empty: not written)
 * @param nonFinite         what a step does when some rank's gradients hold NaN or infinity
 * @param gradientAsBucketView gradients live inside the buckets (CPU: no copy; DDP's {@code gradient_as_bucket_view});
 *                          when false, or on a GPU, they are copied into separate bucket tensors and back
 * @param optimizer         how parameters are updated: a Trainyard fused optimizer, DJL's optimizer from the
 *                          training config mapped onto one where its settings can be read, or DJL's own path
 * @param maxGradNorm       clip gradients to this global L2 norm before the update (0: no clipping; fused optimizers only)
 * @param shardedOptimizer  ZeRO-1: each rank keeps optimizer state for 1/N of the parameters (fused optimizers only)
 */
public record DistributedOptions(long bucketBytes, long firstBucketBytes, boolean overlap, int stages,
                                 DataType compression, int accumulationSteps, Optional<Path> metricsFile,
                                 NonFinitePolicy nonFinite, boolean gradientAsBucketView,
                                 OptimizerChoice optimizer, double maxGradNorm,
                                 boolean shardedOptimizer) {

    public DistributedOptions {
        if (bucketBytes < 4096 || firstBucketBytes < 4096) {
            throw new IllegalArgumentException("bucket sizes must be at least 4 KiB");
        }
        if (stages < 1) {
            throw new IllegalArgumentException("stages must be at least 1, got " + stages);
        }
        if (accumulationSteps < 1) {
            throw new IllegalArgumentException("accumulationSteps must be at least 1, got " + accumulationSteps);
        }
        if (!(maxGradNorm >= 0) || Double.isInfinite(maxGradNorm)) {
            throw new IllegalArgumentException("the gradient clipping norm must be a positive number (0: off), got " + maxGradNorm);
        }
    }

    public static DistributedOptions defaults() {
        return new DistributedOptions(25L << 20, 1L << 20, true, 4, DataType.FLOAT32, 1, Optional.empty(), NonFinitePolicy.SKIP_STEP, true,
                OptimizerChoice.FROM_CONFIG, 0, false);
    }

    public DistributedOptions withBucketBytes(long bytes) {
        return new DistributedOptions(bytes, Math.min(firstBucketBytes, bytes), overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withFirstBucketBytes(long bytes) {
        return new DistributedOptions(bucketBytes, bytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withOverlap(boolean on) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, on, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withStages(int k) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, k, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withCompression(DataType wire) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, wire, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withAccumulationSteps(int k) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, k, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withMetricsFile(Path file) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, Optional.of(file), nonFinite, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    public DistributedOptions withNonFinitePolicy(NonFinitePolicy policy) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, policy, gradientAsBucketView, optimizer, maxGradNorm, shardedOptimizer);
    }

    /** Update parameters with this fused optimizer (CPU, gradients as bucket views) whatever the training config says. */
    public DistributedOptions withOptimizer(FusedOptimizer fused) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, OptimizerChoice.of(fused), maxGradNorm, shardedOptimizer);
    }

    /** Keep DJL's own optimizer path (per parameter; its state is not in checkpoints). */
    public DistributedOptions withDjlOptimizer() {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, OptimizerChoice.DJL, maxGradNorm, shardedOptimizer);
    }

    /** Clip gradients to this global L2 norm before each update, as {@code clip_grad_norm_} does (0: off). */
    public DistributedOptions withGradientClipping(double maxNorm) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxNorm, shardedOptimizer);
    }

    /**
     * ZeRO-1: gradients are reduce-scattered, each rank updates and keeps optimizer state for its
     * shard of every bucket only, and the parameters are all-gathered (fused optimizers on CPU).
     */
    public DistributedOptions withShardedOptimizer(boolean on) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, gradientAsBucketView, optimizer, maxGradNorm, on);
    }

    public DistributedOptions withGradientAsBucketView(boolean view) {
        return new DistributedOptions(bucketBytes, firstBucketBytes, overlap, stages, compression, accumulationSteps, metricsFile, nonFinite, view, optimizer, maxGradNorm, shardedOptimizer);
    }
}
