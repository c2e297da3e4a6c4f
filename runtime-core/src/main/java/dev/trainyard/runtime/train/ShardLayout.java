package dev.trainyard.runtime.train;

/**
 * How ZeRO-1 splits each bucket across ranks: the bucket's n floats are padded to a multiple of
 * the world size N and cut into N equal shards of c = ⌈n/N⌉ floats; rank r owns floats
 * [r·c, r·c + own) with own = min(c, n − r·c), clamped at 0 (the last ranks may own less, or
 * nothing, of a small bucket). The padding stays zero and is never updated. The layout depends on
 * N, but the state a checkpoint holds does not: it is gathered into the unsharded layout first.
 */
record ShardLayout(int rank, int worldSize, int[] counts) {

    static ShardLayout of(BucketPlan plan, int rank, int worldSize) {
        int[] counts = new int[plan.buckets().size()];
        for (BucketPlan.Bucket b : plan.buckets()) {
            counts[b.index()] = b.bytes() / Float.BYTES;
        }
        return new ShardLayout(rank, worldSize, counts);
    }

    int buckets() {
        return counts.length;
    }

    /** Floats in each shard of bucket {@code b}. */
    int shardFloats(int b) {
        return (counts[b] + worldSize - 1) / worldSize;
    }

    /** The bucket's length with padding: worldSize whole shards. */
    int paddedFloats(int b) {
        return shardFloats(b) * worldSize;
    }

    /** Where this rank's shard starts in the bucket. */
    int ownStart(int b) {
        return rank * shardFloats(b);
    }

    /** How many of the bucket's real floats this rank owns. */
    int ownFloats(int b) {
        return Math.max(0, Math.min(shardFloats(b), counts[b] - ownStart(b)));
    }

    int[] ownCounts() {
        int[] own = new int[counts.length];
        for (int b = 0; b < own.length; b++) {
            own[b] = ownFloats(b);
        }
        return own;
    }
}
