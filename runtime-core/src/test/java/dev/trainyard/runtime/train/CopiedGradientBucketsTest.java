package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
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
    private static final float PEER = 0.25f;

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    /** Rank 0 of 2 averaging with a peer whose gradients are all {@link #PEER} (and whose non-finite flag is 0). */
    private static class HostPair implements Communicator {
        int hostCalls;
        /** The number (from 1) of each all-reduce that was asked to run on the caller's thread. */
        final List<Integer> callerThreadCalls = new ArrayList<>();

        @Override
        public Work allReduceOnCallerThread(ByteBuffer buffer, DataType type, ReduceOp op) {
            callerThreadCalls.add(hostCalls + 1);
            return allReduceAsync(buffer, type, op);
        }

        static Work done(CollectiveOp op, long count) {
            Work w = new Work(new Fingerprint(0, op, ReduceOp.AVG, DataType.FLOAT32, count, -1));
            w.complete();
            return w;
        }

        @Override
        public Work allReduceAsync(ByteBuffer buffer, DataType type, ReduceOp op) {
            hostCalls++;
            ByteBuffer b = buffer.slice().order(ByteOrder.nativeOrder());
            int n = b.remaining() / 4;
            for (int j = 0; j < n; j++) {
                b.putFloat(j * 4, (b.getFloat(j * 4) + (j == n - 1 ? 0 : PEER)) / 2);
            }
            return done(CollectiveOp.ALL_REDUCE, n);
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int size() {
            return 2;
        }

        @Override
        public Work broadcastAsync(ByteBuffer buffer, DataType type, int root) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Work allGatherAsync(ByteBuffer input, ByteBuffer output, DataType type) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Work barrierAsync() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void abort(String reason) {
        }

        @Override
        public void close() {
        }
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

    private static Model model() {
        Model m = Model.newInstance("copied-buckets", Device.cpu());
        SequentialBlock b = new SequentialBlock()
                .add(Linear.builder().setUnits(64).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(3).build());
        m.setBlock(b);
        b.initialize(m.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(4, 20));
        return m;
    }

    private static void backward(Model m) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray x = m.getNDManager().randomUniform(-1, 1, new Shape(4, 20));
            NDArray out = m.getBlock().forward(new ParameterStore(m.getNDManager(), false), new NDList(x), true).head();
            gc.backward(out.square().sum());
        }
    }

    private static List<float[]> gradients(Model m) {
        List<float[]> g = new ArrayList<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            try (NDArray grad = p.getValue().getArray().getGradient()) {
                g.add(grad.toFloatArray());
            }
        }
        return g;
    }

    private static void averagesWithThePeer(HostPair comm) {
        try (Model m = model()) {
            backward(m);
            List<float[]> before = gradients(m);
            BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), ModelStages.of(m.getBlock(), 1), 4096, 4096);
            CopiedGradientBuckets buckets = new CopiedGradientBuckets(plan, comm, 2, true, m.getNDManager(), Device.cpu());
            buckets.launchStage(0, true);
            buckets.awaitAll();
            assertFalse(buckets.stepHadNonFinite());
            List<float[]> after = gradients(m);
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
                try (Model m = model()) {
                    backward(m);
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
        try (Model m = model()) {
            backward(m);
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
            for (float[] g : gradients(m)) {
                for (float v : g) {
                    assertEquals(0f, v, "zeroed");
                }
            }
        }
    }

    @Test
    void aParameterUpdatedThroughAHostCopyHoldsTheNewValues() {
        try (Model m = model()) {
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
