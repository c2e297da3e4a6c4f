package dev.trainyard.runtime.train;

import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * Which gradients travel together. Built from the block's parameter names in reverse order
 * (gradients of the last layers are final first), never from DJL's parameter ids, which
 * differ per process: so every rank builds the same plan and issues the same collectives in the
 * same order. A bucket never spans two stages, the first bucket is small (communication starts
 * early), and parameters without gradients are left out.
 */
record BucketPlan(List<Bucket> buckets) {

    /** One parameter's place in its bucket's flat buffer. */
    record Slot(String name, Parameter parameter, int offsetBytes, int bytes) {
    }

    record Bucket(int index, int stage, List<Slot> slots, int bytes) {
    }

    static BucketPlan build(PairList<String, Parameter> parameters, ModelStages stages, long firstBucketBytes, long bucketBytes) {
        List<Bucket> buckets = new ArrayList<>();
        List<Slot> slots = new ArrayList<>();
        int bytes = 0;
        int stage = -1;
        for (int i = parameters.size() - 1; i >= 0; i--) {
            Parameter p = parameters.get(i).getValue();
            if (!p.requiresGradient()) {
                continue;
            }
            if (p.getArray().getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("parameter " + parameters.get(i).getKey() + " is "
                        + p.getArray().getDataType() + "; the distributed trainer all-reduces float32 gradients");
            }
            long size = p.getArray().size() * Float.BYTES;
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("parameter " + parameters.get(i).getKey() + " has " + size
                        + " bytes of gradient; at most 2 GiB per parameter is supported");
            }
            int s = stages.stageOf(p);
            long limit = buckets.isEmpty() ? firstBucketBytes : bucketBytes;
            if (!slots.isEmpty() && (s != stage || bytes + size > limit)) {
                buckets.add(new Bucket(buckets.size(), stage, List.copyOf(slots), bytes));
                slots.clear();
                bytes = 0;
            }
            stage = s;
            slots.add(new Slot(parameters.get(i).getKey(), p, bytes, (int) size));
            bytes += (int) size;
        }
        if (!slots.isEmpty()) {
            buckets.add(new Bucket(buckets.size(), stage, List.copyOf(slots), bytes));
        }
        return new BucketPlan(List.copyOf(buckets));
    }

    long totalBytes() {
        return buckets.stream().mapToLong(Bucket::bytes).sum();
    }

    /** A digest of names and sizes, compared across ranks so a model mismatch fails loudly at start. */
    long signature() {
        long h = 1125899906842597L;
        for (Bucket b : buckets) {
            for (Slot s : b.slots()) {
                h = 31 * h + s.name().hashCode();
                h = 31 * h + s.bytes();
            }
            h = 31 * h + b.stage();
        }
        return h;
    }
}
