package dev.trainyard.runtime.optim;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Everything a {@link FusedOptimizer} carries from step to step: the number of updates done
 * (which also places the learning-rate schedule) and its per-parameter arrays, bucket by bucket
 * in the layout of the flat parameter buffers. Saved whole in checkpoints, so a resumed run
 * continues Adam's moments and the schedule exactly.
 */
public final class OptimizerState {
    /** Where one parameter's state lives: {@code count} floats from {@code offset} in bucket {@code bucket}. */
    public record Slice(String name, int bucket, int offset, int count) {
    }

    private final String kind;
    private final int[] counts;
    private final float[][][] slots;
    private long steps;
    private List<Slice> parameters;

    OptimizerState(String kind, int[] counts, int slotsPerBucket) {
        this.kind = kind;
        this.counts = counts.clone();
        this.slots = new float[counts.length][slotsPerBucket][];
        List<Slice> wholeBuckets = new ArrayList<>();
        for (int b = 0; b < counts.length; b++) {
            for (int s = 0; s < slotsPerBucket; s++) {
                slots[b][s] = new float[counts[b]];
            }
            wholeBuckets.add(new Slice("bucket-" + b, b, 0, counts[b]));
        }
        this.parameters = List.copyOf(wholeBuckets);
    }

    /**
     * Which parameter each part of the buckets belongs to. Checkpoints store state per parameter
     * name, so a checkpoint resumes under any other bucketing (another world size can change the
     * stages and so the buckets). Without it, each bucket counts as one parameter.
     */
    public void describeParameters(List<Slice> slices) {
        for (Slice s : slices) {
            if (s.bucket() < 0 || s.bucket() >= counts.length || s.offset() < 0 || s.offset() + s.count() > counts[s.bucket()]) {
                throw new IllegalArgumentException("parameter " + s.name() + " lies outside the buckets " + Arrays.toString(counts));
            }
        }
        this.parameters = List.copyOf(slices);
    }

    public List<Slice> parameters() {
        return parameters;
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

    /**
     * Null when saved state of {@code otherKind} for {@code otherParameters} (name to float count)
     * fits this state; otherwise what differs, for the user.
     */
    public String mismatch(String otherKind, Map<String, Integer> otherParameters, int otherSlots) {
        if (!kind.equals(otherKind) || otherSlots != slotsPerBucket()) {
            return "it holds " + otherKind + " state and this run uses " + kind;
        }
        Map<String, Integer> mine = new LinkedHashMap<>();
        parameters.forEach(p -> mine.put(p.name(), p.count()));
        if (!mine.equals(otherParameters)) {
            for (Map.Entry<String, Integer> e : otherParameters.entrySet()) {
                if (!e.getValue().equals(mine.get(e.getKey()))) {
                    return "its " + otherKind + " state has parameter " + e.getKey() + " of " + e.getValue() + " floats, which this run's model "
                            + (mine.containsKey(e.getKey()) ? "has with " + mine.get(e.getKey()) : "does not have");
                }
            }
            return "its " + otherKind + " state covers " + otherParameters.size() + " parameters and this run's model trains " + mine.size();
        }
        return null;
    }

    /**
     * CRC32 over the update count and every state float, parameter by parameter in the order of
     * {@link #parameters}: equal iff two states are bit-identical, whatever their bucketing.
     */
    public long crc32() {
        CRC32 crc = new CRC32();
        crc.update(ByteBuffer.allocate(Long.BYTES).putLong(steps).flip());
        ByteBuffer floats = ByteBuffer.allocate(4096 * Float.BYTES);
        for (Slice p : parameters) {
            for (int s = 0; s < slotsPerBucket(); s++) {
                float[] slot = slots[p.bucket()][s];
                for (int off = p.offset(); off < p.offset() + p.count(); off += 4096) {
                    int n = Math.min(4096, p.offset() + p.count() - off);
                    floats.clear();
                    floats.asFloatBuffer().put(slot, off, n);
                    floats.limit(n * Float.BYTES);
                    crc.update(floats);
                }
            }
        }
        return crc.getValue();
    }

    /** The bucket sizes. */
    public int[] counts() {
        return counts.clone();
    }
}
