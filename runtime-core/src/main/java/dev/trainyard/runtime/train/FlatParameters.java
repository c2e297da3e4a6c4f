package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The trainable parameters of a {@link BucketPlan}, each bucket in one flat direct buffer laid out
 * like its gradients: every parameter tensor is re-pointed at its slice ({@code set(Buffer)}
 * swaps the tensor's storage without copying; the block, DJL's save and load, and our checkpoints
 * keep working on the same tensors). A fused optimizer then updates a bucket in one pass. CPU only:
 * a GPU tensor's storage cannot be a host buffer. With a {@link ShardLayout} each bucket is padded
 * to whole shards (zeros no tensor sees), so an all-gather can write every rank's shard in place.
 */
final class FlatParameters {
    private final FloatBuffer[] floats;
    private final ByteBuffer[] bytes;
    private final int[] counts;
    /** Native code does not keep the Java buffers alive: these references do, for the run. */
    private final List<ByteBuffer> slices = new ArrayList<>();

    FlatParameters(BucketPlan plan, ShardLayout shards) {
        int n = plan.buckets().size();
        floats = new FloatBuffer[n];
        bytes = new ByteBuffer[n];
        counts = new int[n];
        // re-pointing a leaf tensor that requires gradients is refused under grad mode
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (BucketPlan.Bucket b : plan.buckets()) {
                int size = shards == null ? b.bytes() : shards.paddedFloats(b.index()) * Float.BYTES;
                ByteBuffer flat = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
                for (BucketPlan.Slot s : b.slots()) {
                    NDArray array = s.parameter().getArray();
                    if (array.getDevice().isGpu()) {
                        throw new IllegalArgumentException("parameter " + s.name() + " is on " + array.getDevice()
                                + "; flat host parameters are for CPU training");
                    }
                    ByteBuffer slice = flat.slice(s.offsetBytes(), s.bytes()).order(ByteOrder.nativeOrder());
                    slice.put(array.toByteBuffer(true));
                    slice.clear();
                    array.set(slice);
                    slices.add(slice);
                }
                floats[b.index()] = flat.asFloatBuffer();
                bytes[b.index()] = flat;
                counts[b.index()] = b.bytes() / Float.BYTES;
            }
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /** Bucket {@code b}'s parameters, live. */
    FloatBuffer bucket(int b) {
        return floats[b];
    }

    FloatBuffer[] buckets() {
        return floats;
    }

    /** Bucket {@code b}'s bytes, padding included: the all-gather's output. */
    ByteBuffer bytes(int b) {
        return bytes[b];
    }

    int[] counts() {
        return counts.clone();
    }
}
