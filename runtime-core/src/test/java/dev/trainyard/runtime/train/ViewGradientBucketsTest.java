package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.collectives.DataType;
import java.nio.FloatBuffer;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CPU bucket layout: gradients re-pointed into one flat buffer per bucket and all-reduced in
 * place. The "other rank" ({@link HostPair}) holds 0.25 in every gradient, so each result is
 * {@code (g + 0.25) / 2}, computed here from the gradients read before the all-reduce.
 */
class ViewGradientBucketsTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    private static BucketPlan plan(Model m) {
        BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), ModelStages.of(m.getBlock(), 1), 4096, 4096);
        assertTrue(plan.buckets().size() > 1, "several buckets: " + plan.buckets().size());
        return plan;
    }

    /** Within {@code relative} of each expected value (of 1 for values below 1): half precision rounds relative to magnitude. */
    private static void assertAveraged(List<float[]> before, List<float[]> after, double relative) {
        for (int p = 0; p < before.size(); p++) {
            for (int j = 0; j < before.get(p).length; j++) {
                double expected = (before.get(p)[j] + HostPair.PEER) / 2;
                assertEquals(expected, after.get(p)[j], relative * Math.max(1, Math.abs(expected)), "parameter " + p + " element " + j);
            }
        }
    }

    @Test
    void gradientsBecomeTheAverageInPlace() {
        for (DataType wire : new DataType[] {DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16}) {
            try (Model m = SmallModel.create()) {
                SmallModel.backward(m);
                List<float[]> before = SmallModel.gradients(m);
                HostPair comm = new HostPair();
                GradientBuckets buckets = new ViewGradientBuckets(plan(m), comm, 2, wire, true, m.getNDManager());
                buckets.launchStage(0, false);
                buckets.awaitAll();
                assertFalse(buckets.stepHadNonFinite());
                // half precision keeps 11 (FLOAT16) or 8 (BFLOAT16) significant bits, rounded twice (packing, the sum)
                double tolerance = wire == DataType.FLOAT32 ? 1e-6 : wire == DataType.FLOAT16 ? 2e-3 : 1.6e-2;
                assertAveraged(before, SmallModel.gradients(m), tolerance);
                assertEquals(wire == DataType.FLOAT32 ? plan(m).totalBytes() : plan(m).totalBytes() / 2, buckets.bytesPerStep(), wire.toString());
            }
        }
    }

    @Test
    void afterTheFirstLaunchEachGradientLivesInItsBucket() {
        try (Model m = SmallModel.create()) {
            SmallModel.backward(m);
            BucketPlan plan = plan(m);
            GradientBuckets buckets = new ViewGradientBuckets(plan, new HostPair(), 2, DataType.FLOAT32, true, m.getNDManager());
            buckets.launchStage(0, false);
            buckets.awaitAll();
            // a write into a bucket is a write into the gradient tensor: no copy between them
            for (BucketPlan.Bucket b : plan.buckets()) {
                FloatBuffer flat = buckets.hostGradients()[b.index()];
                for (BucketPlan.Slot s : b.slots()) {
                    flat.put(s.offsetBytes() / Float.BYTES, 1000 + b.index());
                }
            }
            for (BucketPlan.Bucket b : plan.buckets()) {
                for (BucketPlan.Slot s : b.slots()) {
                    try (NDArray grad = s.parameter().getArray().getGradient()) {
                        assertEquals(1000 + b.index(), grad.toFloatArray()[0], s.name());
                    }
                }
            }
            buckets.zeroAll();
            for (float[] g : SmallModel.gradients(m)) {
                for (float v : g) {
                    assertEquals(0f, v, "zeroAll zeroes the gradients themselves");
                }
            }
        }
    }

    @Test
    void aNonFiniteGradientOnThisRankStopsTheStepAndIsNamed() {
        try (Model m = SmallModel.create()) {
            SmallModel.backward(m);
            Pair<String, Parameter> second = m.getBlock().getParameters().get(2);
            try (NDArray grad = second.getValue().getArray().getGradient()) {
                grad.set(new NDIndex("0"), Float.POSITIVE_INFINITY);
            }
            GradientBuckets buckets = new ViewGradientBuckets(plan(m), new HostPair(), 2, DataType.FLOAT32, true, m.getNDManager());
            buckets.launchStage(0, false);
            buckets.awaitAll();
            assertTrue(buckets.stepHadNonFinite());
            assertEquals(second.getKey(), buckets.localNonFiniteParameter());
        }
    }
}
