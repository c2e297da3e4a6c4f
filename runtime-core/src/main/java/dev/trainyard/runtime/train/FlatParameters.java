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
 * a GPU tensor's storage cannot be a host buffer.
 */
final class FlatParameters {
    private final FloatBuffer[] floats;
    private final int[] counts;
    /** Native code does not keep the Java buffers alive: these references do, for the run. */
    private final List<ByteBuffer> slices = new ArrayList<>();

    FlatParameters(BucketPlan plan) {
        int n = plan.buckets().size();
        floats = new FloatBuffer[n];
        counts = new int[n];
        // re-pointing a leaf tensor that requires gradients is refused under grad mode
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (BucketPlan.Bucket b : plan.buckets()) {
                ByteBuffer flat = ByteBuffer.allocateDirect(b.bytes()).order(ByteOrder.nativeOrder());
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

    int[] counts() {
        return counts.clone();
    }
}
