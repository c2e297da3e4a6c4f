package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BucketPlanTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    private static Model mlp() {
        Model m = Model.newInstance("plan");
        SequentialBlock b = new SequentialBlock()
                .add(Linear.builder().setUnits(256).build()).add(Activation::relu)   // 784*256 + 256 floats
                .add(Linear.builder().setUnits(128).build()).add(Activation::relu)   // 256*128 + 128
                .add(Linear.builder().setUnits(10).build());                         // 128*10 + 10
        m.setBlock(b);
        b.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 784));
        return m;
    }

    @Test
    void reverseOrderSmallFirstBucketAndNoBucketAcrossStages() {
        try (Model m = mlp()) {
            ModelStages stages = ModelStages.of(m.getBlock(), 3);
            assertEquals(3, stages.count());
            for (int s = 0; s < 3; s++) {
                final int stage = s;
                assertTrue(m.getBlock().getParameters().values().stream().anyMatch(p -> stages.stageOf(p) == stage),
                        "stage " + s + " holds parameters");
            }
            BucketPlan plan = BucketPlan.build(m.getBlock().getParameters(), stages, 8 << 10, 1 << 20);
            List<String> order = plan.buckets().stream().flatMap(b -> b.slots().stream()).map(BucketPlan.Slot::name).toList();
            assertEquals(List.of("05Linear_bias", "05Linear_weight", "03Linear_bias", "03Linear_weight", "01Linear_bias", "01Linear_weight"), order);
            assertEquals((784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10) * 4L, plan.totalBytes());
            assertTrue(plan.buckets().get(0).bytes() <= 8 << 10, "first bucket is small");
            for (BucketPlan.Bucket b : plan.buckets()) {
                for (BucketPlan.Slot s : b.slots()) {
                    assertEquals(b.stage(), stages.stageOf(s.parameter()), s.name() + " is in a bucket of another stage");
                }
                assertTrue(b.bytes() <= 1 << 20 || b.slots().size() == 1, "bucket over the limit holds one parameter only");
            }
            for (int i = 1; i < plan.buckets().size(); i++) {
                assertTrue(plan.buckets().get(i).stage() <= plan.buckets().get(i - 1).stage(), "later stages first");
            }
        }
    }

    @Test
    void samePlanFromTwoInstancesEvenThoughDjlIdsDiffer() {
        try (Model a = mlp(); Model b = mlp()) {
            BucketPlan pa = BucketPlan.build(a.getBlock().getParameters(), ModelStages.of(a.getBlock(), 4), 4096, 1 << 16);
            BucketPlan pb = BucketPlan.build(b.getBlock().getParameters(), ModelStages.of(b.getBlock(), 4), 4096, 1 << 16);
            assertEquals(pa.signature(), pb.signature());
            assertTrue(!a.getBlock().getParameters().get(0).getValue().getId().equals(b.getBlock().getParameters().get(0).getValue().getId()));
        }
    }
}
