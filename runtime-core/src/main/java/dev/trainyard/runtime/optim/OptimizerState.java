package dev.trainyard.runtime.optim;

/**
 * Everything a {@link FusedOptimizer} carries from step to step: the number of updates done
 * (which also places the learning-rate schedule) and its per-parameter arrays, bucket by bucket
 * in the layout of the flat parameter buffers. Saved whole in checkpoints, so a resumed run
 * continues Adam's moments and the schedule exactly.
 */
public final class OptimizerState {
    private final String kind;
    private final int[] counts;
    private final float[][][] slots;
    private long steps;

    OptimizerState(String kind, int[] counts, int slotsPerBucket) {
        this.kind = kind;
        this.counts = counts.clone();
        this.slots = new float[counts.length][slotsPerBucket][];
        for (int b = 0; b < counts.length; b++) {
            for (int s = 0; s < slotsPerBucket; s++) {
                slots[b][s] = new float[counts[b]];
            }
        }
    }

    public String kind() {
        return kind;
    }

    /** Updates done so far. */
    public long steps() {
        return steps;
    }

    public void setSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("a step count cannot be negative: " + steps);
        }
        this.steps = steps;
    }

    long advance() {
        return ++steps;
    }

    public int buckets() {
        return counts.length;
    }

    public int slotsPerBucket() {
        return slots.length == 0 ? 0 : slots[0].length;
    }

    /** Floats in bucket {@code b}. */
    public int count(int b) {
        return counts[b];
    }

    /** State array {@code s} of bucket {@code b}, live: writes change the state. */
    public float[] slot(int b, int s) {
        return slots[b][s];
    }

    /** Bytes of per-parameter state this rank holds. */
    public long bytes() {
        long n = 0;
        for (int b = 0; b < counts.length; b++) {
            n += (long) counts[b] * slotsPerBucket() * Float.BYTES;
        }
        return n;
    }

    /** Null when {@code other} has this state's kind and layout; otherwise what differs, for the user. */
    public String mismatch(String otherKind, int[] otherCounts, int otherSlots) {
        if (!kind.equals(otherKind)) {
            return "it holds " + otherKind + " state and this run uses " + kind;
        }
        if (!java.util.Arrays.equals(counts, otherCounts) || otherSlots != slotsPerBucket()) {
            return "its " + otherKind + " state has buckets of " + java.util.Arrays.toString(otherCounts)
                    + " floats and this run's model has " + java.util.Arrays.toString(counts);
        }
        return null;
    }

    /** The bucket sizes, for comparison with a saved state. */
    public int[] counts() {
        return counts.clone();
    }
}
