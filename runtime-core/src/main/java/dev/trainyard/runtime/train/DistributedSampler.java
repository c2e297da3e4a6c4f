package dev.trainyard.runtime.train;

import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Sampler;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * DJL {@link Sampler} that gives each rank its own share of the data, like PyTorch's
 * {@code DistributedSampler}: one permutation per epoch from {@code seed + epoch} (the same on
 * every rank), rank r taking positions r, r+N, r+2N, ... So rank r's batch j and the other ranks'
 * batch j together are exactly batch j of one process with N times the batch size. Every rank
 * gets the same number of batches, so uneven data never leaves a rank waiting in a collective:
 * {@link Uneven#PAD} repeats the first samples, {@link Uneven#DROP} drops the tail and any partial batch.
 * Each call of {@link #sample} is the next epoch (DJL calls it once per pass over the dataset).
 */
public final class DistributedSampler implements Sampler {
    /** What to do with samples that do not divide evenly across ranks. */
    public enum Uneven { PAD, DROP }

    private final int batchSize;
    private final int rank;
    private final int worldSize;
    private final long seed;
    private final boolean shuffle;
    private final Uneven uneven;
    private int epoch;
    private long skipBatches;

    public DistributedSampler(int batchSize, int rank, int worldSize, long seed, boolean shuffle, Uneven uneven) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside the world of " + worldSize);
        }
        this.batchSize = batchSize;
        this.rank = rank;
        this.worldSize = worldSize;
        this.seed = seed;
        this.shuffle = shuffle;
        this.uneven = uneven;
    }

    /** The next {@link #sample} call is {@code epoch}, starting after {@code batchesDone} batches (resume). */
    public synchronized void startAt(int epoch, long batchesDone) {
        this.epoch = epoch;
        this.skipBatches = batchesDone;
    }

    /** The epoch the next {@link #sample} call will produce. */
    public synchronized int nextEpoch() {
        return epoch;
    }

    /** Batches per rank per epoch for a dataset of {@code size} samples. */
    public long batchesPerEpoch(long size) {
        long perRank = perRank(size);
        return uneven == Uneven.DROP ? perRank / batchSize : (perRank + batchSize - 1) / batchSize;
    }

    private long perRank(long size) {
        return uneven == Uneven.DROP ? size / worldSize : (size + worldSize - 1) / worldSize;
    }

    @Override
    public synchronized Iterator<List<Long>> sample(RandomAccessDataset dataset) {
        long size = dataset.size();
        if (size == 0) {
            throw new IllegalArgumentException("the dataset is empty");
        }
        int[] order = permutation(Math.toIntExact(size), epoch);
        long perRank = perRank(size);
        long batches = batchesPerEpoch(size);
        long first = Math.min(skipBatches, batches);
        epoch++;
        skipBatches = 0;
        return new Iterator<>() {
            long next = first;

            @Override
            public boolean hasNext() {
                return next < batches;
            }

            @Override
            public List<Long> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                long from = next * batchSize;
                long to = Math.min(from + batchSize, perRank);
                List<Long> batch = new ArrayList<>((int) (to - from));
                for (long i = from; i < to; i++) {
                    long position = i * worldSize + rank;
                    batch.add((long) order[(int) (position % order.length)]); // PAD wraps to the start
                }
                next++;
                return batch;
            }
        };
    }

    private int[] permutation(int n, int ofEpoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom random = new SplittableRandom(seed + ofEpoch);
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    @Override
    public int getBatchSize() {
        return batchSize;
    }
}
