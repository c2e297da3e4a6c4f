package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The GPU bucket layout on CPU tensors: gradients copied into one tensor per bucket, reduced where
 * the bucket lives (through its {@code data_ptr()}, as NCCL does) or through a host copy, and copied
 * back. The "other rank" is a fake whose gradient is 0.25 everywhere, so each result is (g + 0.25) / 2.
 */
class CopiedGradientBucketsTest {
    private static final float PEER = HostPair.PEER;

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    /** The same peer, reached through device pointers: reads and writes the bucket's memory at its address. */
    private static final class DevicePair extends HostPair implements DeviceCollectives {
        int deviceCalls;

        private static final class At extends Pointer {
            At(long address) {
                this.address = address;
            }
        }

        @Override
        public int device() {
            return 0;
        }

        @Override
        public Work allReduceAsync(long devicePointer, long count, DataType type, ReduceOp op) {
            deviceCalls++;
            FloatPointer p = new FloatPointer(new At(devicePointer)).capacity(count);
            for (long j = 0; j < count; j++) {
                p.put(j, (p.get(j) + (j == count - 1 ? 0 : PEER)) / 2);
            }
            return done(CollectiveOp.ALL_REDUCE, count);
        }

        @Override
        public Work broadcastAsync(long devicePointer, long count, DataType type, int root) {
            throw new UnsupportedOperationException();
        }
    }

    private static void averagesWithThePeer(HostPair comm) {
        try (Model m = SmallModel.create()) {
            SmallModel.backward(m);
            List<float[]> before = SmallModel.gradients(m);
            BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), ModelStages.of(m.getBlock(), 1), 4096, 4096);
            CopiedGradientBuckets buckets = new CopiedGradientBuckets(plan, comm, 2, true, m.getNDManager(), Device.cpu());
            buckets.launchStage(0, true);
            buckets.awaitAll();
            assertFalse(buckets.stepHadNonFinite());
            List<float[]> after = SmallModel.gradients(m);
            for (int p = 0; p < before.size(); p++) {
                float[] expected = new float[before.get(p).length];
                for (int j = 0; j < expected.length; j++) {
                    expected[j] = (before.get(p)[j] + PEER) / 2;
                }
                assertArrayEquals(expected, after.get(p), 1e-6f, "parameter " + p);
            }
            assertTrue(plan.buckets().size() > 1, "several buckets: " + plan.buckets().size());
        }
    }

    @Test
    void throughTheBucketsAddressTheGradientsBecomeTheAverage() {
        DevicePair comm = new DevicePair();
        averagesWithThePeer(comm);
        assertTrue(comm.deviceCalls > 0 && comm.hostCalls == 0, "reduced in place, not staged");
    }

    @Test
    void stagedThroughHostCopiesTheGradientsBecomeTheAverage() {
        HostPair comm = new HostPair();
        averagesWithThePeer(comm);
        assertTrue(comm.hostCalls > 0, "staged through host buffers");
    }

    /** Both layouts: only the step's last bucket may run on the caller's thread, and only when asked. */
    @Test
    void theStepsLastBucketGoesToTheCallerThreadOnlyWhenAsked() {
        for (boolean copied : new boolean[] {false, true}) {
            for (boolean asked : new boolean[] {true, false}) {
                try (Model m = SmallModel.create()) {
                    SmallModel.backward(m);
                    BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), ModelStages.of(m.getBlock(), 1), 4096, 4096);
                    HostPair comm = new HostPair();
                    GradientBuckets buckets = copied
                            ? new CopiedGradientBuckets(plan, comm, 2, true, m.getNDManager(), Device.cpu())
                            : new ViewGradientBuckets(plan, comm, 2, DataType.FLOAT32, true, m.getNDManager());
                    buckets.launchStage(0, asked);
                    buckets.awaitAll();
                    String what = (copied ? "copied" : "view") + " buckets, asked " + asked;
                    assertTrue(plan.buckets().size() > 1, "several buckets: " + plan.buckets().size());
                    assertEquals(plan.buckets().size(), comm.hostCalls, what);
                    assertEquals(asked ? List.of(plan.buckets().size()) : List.of(), comm.callerThreadCalls, what);
                }
            }
        }
    }

    @Test
    void aNonFiniteGradientIsFlaggedAndNamed() {
        try (Model m = SmallModel.create()) {
            SmallModel.backward(m);
            Pair<String, Parameter> second = m.getBlock().getParameters().get(2);
            try (NDArray grad = second.getValue().getArray().getGradient()) {
                grad.set(new NDIndex("0"), Float.NaN);
            }
            BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), ModelStages.of(m.getBlock(), 1), 4096, 4096);
            CopiedGradientBuckets buckets = new CopiedGradientBuckets(plan, new DevicePair(), 2, true, m.getNDManager(), Device.cpu());
            buckets.launchStage(0, true);
            buckets.awaitAll();
            assertTrue(buckets.stepHadNonFinite());
            assertEquals(second.getKey(), buckets.localNonFiniteParameter());
            buckets.zeroAll();
            for (float[] g : SmallModel.gradients(m)) {
                for (float v : g) {
                    assertEquals(0f, v, "zeroed");
                }
            }
        }
    }

    @Test
    void aParameterUpdatedThroughAHostCopyHoldsTheNewValues() {
        try (Model m = SmallModel.create()) {
            NDArray weight = m.getBlock().getParameters().get(0).getValue().getArray();
            float[] before = weight.toFloatArray();
            ParameterBytes.updateThroughCopy(weight, b -> {
                for (int j = 0; j < b.remaining() / 4; j++) {
                    b.putFloat(j * 4, b.getFloat(j * 4) * 2);
                }
            });
            float[] after = weight.toFloatArray();
            for (int j = 0; j < before.length; j++) {
                assertEquals(before[j] * 2, after[j], 0f);
            }
            assertTrue(weight.hasGradient(), "still a trainable parameter");
        }
    }
}
