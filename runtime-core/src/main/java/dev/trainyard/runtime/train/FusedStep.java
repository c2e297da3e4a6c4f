package dev.trainyard.runtime.train;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Work;
import dev.trainyard.runtime.optim.FusedOptimizer;
import dev.trainyard.runtime.optim.GradientNorm;
import dev.trainyard.runtime.optim.OptimizerState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The parameter update of a {@link DistributedTrainer} on the fused path, the owner of the
 * optimizer state. Unsharded, every rank updates every bucket from the all-reduced gradients.
 * Sharded (ZeRO-1), every rank holds optimizer state for its own shard of each bucket only
 * (1/N of it), updates that shard from the reduce-scattered gradients, and all-gathers the
 * parameters, so every rank ends the step with bit-identical parameters. Checkpoints always see
 * the state in the unsharded layout ({@link #stateForCheckpoint}), so a checkpoint resumes onto
 * any world size.
 */
final class FusedStep {
    private final FusedOptimizer optimizer;
    private final FlatParameters params;
    private final ShardLayout shards;
    private final Communicator comm;
    private final double maxGradNorm;
    private final GradientNorm norm = new GradientNorm();
    private final int[] counts;
    /** This rank's state: whole buckets, or its shards. */
    private final OptimizerState state;
    /** Sharded: this rank's shard of each bucket's parameters, and the all-gather's input. */
    private final FloatBuffer[] ownParams;
    private final ByteBuffer[] gatherInput;
    private final FloatBuffer[] gatherInputFloats;
    private final Work[] gathers;
    /** Each trainable parameter's place in the buckets, in the block's order (independent of the bucketing). */
    private final List<OptimizerState.Slice> parameterSlices;

    FusedStep(FusedOptimizer optimizer, BucketPlan plan, ShardLayout shards, Communicator comm, double maxGradNorm) {
        this.optimizer = optimizer;
        this.shards = shards;
        this.comm = comm;
        this.maxGradNorm = maxGradNorm;
        this.params = new FlatParameters(plan, shards);
        this.counts = params.counts();
        int n = counts.length;
        ownParams = new FloatBuffer[n];
        gatherInput = new ByteBuffer[n];
        gatherInputFloats = new FloatBuffer[n];
        gathers = new Work[n];
        parameterSlices = slices(plan);
        if (shards == null) {
            state = newFullState();
            return;
        }
        state = optimizer.newState(shards.ownCounts());
        for (int b = 0; b < n; b++) {
            ownParams[b] = params.bucket(b).slice(shards.ownStart(b), shards.shardFloats(b));
            gatherInput[b] = ByteBuffer.allocateDirect(shards.shardFloats(b) * Float.BYTES).order(ByteOrder.nativeOrder());
            gatherInputFloats[b] = gatherInput[b].asFloatBuffer();
        }
    }

    private static List<OptimizerState.Slice> slices(BucketPlan plan) {
        List<OptimizerState.Slice> all = new ArrayList<>();
        for (BucketPlan.Bucket b : plan.buckets()) {
            for (BucketPlan.Slot s : b.slots()) {
                all.add(new OptimizerState.Slice(s.name(), b.index(), s.offsetBytes() / Float.BYTES, s.bytes() / Float.BYTES));
            }
        }
        Collections.reverse(all); // the plan runs from the last parameter to the first
        return all;
    }

    /** Whether this rank holds only its shard of the state (ZeRO-1). */
    boolean sharded() {
        return shards != null;
    }

    /** This rank's part of the state, for its own shard file (sharded only). */
    OptimizerShard ownShard() {
        return OptimizerShard.of(state, parameterSlices, shards);
    }

    /** Each trainable parameter's place in the unsharded buckets. */
    List<OptimizerState.Slice> layout() {
        return parameterSlices;
    }

    /** Bytes of optimizer state this rank holds. */
    long stateBytes() {
        return state.bytes();
    }

    /** Updates the parameters from the awaited buckets and leaves every gradient at zero. */
    void step(GradientBuckets buckets) {
        FloatBuffer[] grads = buckets.hostGradients();
        if (shards == null) {
            float scale = maxGradNorm > 0 ? GradientNorm.clipScale(norm.of(grads, counts), maxGradNorm) : 1f;
            optimizer.step(params.buckets(), grads, state, scale);
            return;
        }
        float scale = maxGradNorm > 0 ? GradientNorm.clipScale(Math.sqrt(buckets.shardedSquaredNorm()), maxGradNorm) : 1f;
        // each bucket's parameters start travelling as soon as its shard is updated, while the next one is
        optimizer.begin(state, counts.length);
        for (int b = 0; b < counts.length; b++) {
            optimizer.updateBucket(b, ownParams[b], grads[b], state, scale);
            gatherInputFloats[b].put(0, params.bucket(b), shards.ownStart(b), shards.shardFloats(b));
            gathers[b] = comm.allGatherAsync(gatherInput[b], params.bytes(b), DataType.FLOAT32);
        }
        buckets.zeroAll(); // the optimizer zeroed the averaged shards; the local gradients still hold this step's sums
        for (int b = 0; b < counts.length; b++) {
            gathers[b].await();
            gathers[b] = null;
        }
    }

    /**
     * The state in the unsharded layout, for rank 0 to write. Collective when sharded (every rank
     * must call it at the same step): each slot is all-gathered, so for that moment every rank
     * holds the whole state once more.
     */
    OptimizerState stateForCheckpoint() {
        if (shards == null) {
            return state;
        }
        OptimizerState full = newFullState();
        full.setSteps(state.steps());
        for (int b = 0; b < counts.length; b++) {
            int shard = shards.shardFloats(b);
            ByteBuffer in = ByteBuffer.allocateDirect(shard * Float.BYTES).order(ByteOrder.nativeOrder());
            ByteBuffer out = ByteBuffer.allocateDirect(shards.paddedFloats(b) * Float.BYTES).order(ByteOrder.nativeOrder());
            for (int s = 0; s < state.slotsPerBucket(); s++) {
                in.asFloatBuffer().put(0, state.slot(b, s), 0, state.count(b));
                comm.allGather(in, out, DataType.FLOAT32);
                out.asFloatBuffer().get(0, full.slot(b, s), 0, counts[b]);
            }
        }
        return full;
    }

    /** Fresh state in the unsharded layout, for a checkpoint to be loaded into. */
    OptimizerState newFullState() {
        OptimizerState full = optimizer.newState(counts);
        full.describeParameters(parameterSlices);
        return full;
    }

    /** Takes rank 0's unsharded state (loaded from a checkpoint): every rank keeps its part. */
    void restore(OptimizerState full) {
        long[] steps = {full.steps()};
        comm.broadcast(steps, 0);
        state.setSteps(steps[0]);
        for (int b = 0; b < counts.length; b++) {
            for (int s = 0; s < state.slotsPerBucket(); s++) {
                comm.broadcast(full.slot(b, s), 0);
                int from = shards == null ? 0 : shards.ownStart(b);
                System.arraycopy(full.slot(b, s), from, state.slot(b, s), 0, state.count(b));
            }
        }
    }
}
