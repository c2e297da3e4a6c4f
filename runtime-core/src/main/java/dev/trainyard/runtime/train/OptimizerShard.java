package dev.trainyard.runtime.train;

import dev.trainyard.runtime.optim.OptimizerState;
import java.util.ArrayList;
import java.util.List;

/**
 * One rank's part of a sharded (ZeRO-1) optimizer's state, described as pieces of named
 * parameters rather than of buckets: a checkpoint made of every rank's part can then be put back
 * together under any bucketing and any world size, because a piece says which floats of which
 * parameter it holds, not where this run's buckets happened to put them.
 *
 * @param own this rank's state, bucket by bucket in the shard layout
 * @param pieces where each piece of a parameter lies in {@code own}
 */
record OptimizerShard(OptimizerState own, int rank, int worldSize, List<Piece> pieces) {

    /**
     * Floats {@code [parameterOffset, parameterOffset + count)} of {@code parameter}, held in bucket
     * {@code bucket} of the shard's state from {@code stateOffset}.
     */
    record Piece(String parameter, int parameterOffset, int count, int bucket, int stateOffset) {
    }

    /**
     * Cuts the unsharded {@code layout} (each parameter's place in the buckets) along this rank's
     * shard of each bucket.
     */
    static OptimizerShard of(OptimizerState own, List<OptimizerState.Slice> layout, ShardLayout shards) {
        List<Piece> pieces = new ArrayList<>();
        for (OptimizerState.Slice p : layout) {
            int start = shards.ownStart(p.bucket());
            int from = Math.max(p.offset(), start);
            int to = Math.min(p.offset() + p.count(), start + shards.ownFloats(p.bucket()));
            if (to > from) {
                pieces.add(new Piece(p.name(), from - p.offset(), to - from, p.bucket(), from - start));
            }
        }
        return new OptimizerShard(own, shards.rank(), shards.worldSize(), List.copyOf(pieces));
    }
}
