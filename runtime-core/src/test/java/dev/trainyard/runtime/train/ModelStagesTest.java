package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Where the trainer may cut a model's backward: through nested sequential blocks and declared stages, never inside other blocks. */
class ModelStagesTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    /** A residual unit: one piece, not to be cut (its two branches share the input). */
    private static Block residual(int units) {
        return new ParallelBlock(o -> new NDList(o.get(0).head().add(o.get(1).head())),
                List.of(new SequentialBlock().add(Linear.builder().setUnits(units).build()).add(Activation::relu)
                        .add(Linear.builder().setUnits(units).build()), new SequentialBlock().add(x -> x)));
    }

    /** A user's own block that declares its stages. */
    private static final class Declared extends AbstractBlock implements StagedBlock {
        private final List<Block> parts = new ArrayList<>();

        Declared(int layers) {
            for (int i = 0; i < layers; i++) {
                parts.add(addChildBlock("part" + i, Linear.builder().setUnits(16).build()));
            }
        }

        @Override
        public List<Block> stages() {
            return parts;
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList x, boolean training, PairList<String, Object> params) {
            for (Block b : parts) {
                x = b.forward(store, x, training);
            }
            return x;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {new Shape(in[0].get(0), 16)};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType type, Shape... in) {
            Shape[] s = in;
            for (Block b : parts) {
                b.initialize(manager, type, s);
                s = b.getOutputShapes(s);
            }
        }
    }

    private static Set<Integer> stagesOf(ModelStages stages, Block block) {
        Set<Integer> seen = new HashSet<>();
        for (Parameter p : block.getParameters().values()) {
            seen.add(stages.stageOf(p));
        }
        return seen;
    }

    @Test
    void nestedSequentialBlocksAreCutBetweenResidualUnitsNeverInsideOne() {
        Block unit0 = residual(16);
        Block unit1 = residual(16);
        Block unit2 = residual(16);
        Block unit3 = residual(16);
        // the top level has only two children: without looking inside, there would be nothing to overlap
        SequentialBlock model = new SequentialBlock()
                .add(new SequentialBlock().add(Linear.builder().setUnits(16).build()).add(unit0).add(unit1))
                .add(new SequentialBlock().add(unit2).add(new SequentialBlock().add(unit3).add(Linear.builder().setUnits(4).build())));
        try (Model m = Model.newInstance("nested")) {
            m.setBlock(model);
            model.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 8));
            ModelStages stages = ModelStages.of(model, 4);
            assertEquals(4, stages.count());
            for (Block unit : List.of(unit0, unit1, unit2, unit3)) {
                assertEquals(1, stagesOf(stages, unit).size(), "a residual unit lies in one stage");
            }
            assertTrue(stagesOf(stages, unit0).iterator().next() < stagesOf(stages, unit3).iterator().next(), "stages follow forward order");
            Set<Integer> all = new HashSet<>();
            model.getParameters().values().forEach(p -> all.add(stages.stageOf(p)));
            assertEquals(Set.of(0, 1, 2, 3), all, "every stage holds parameters");
        }
    }

    @Test
    void aBlockThatDeclaresItsStagesIsCutThereAndAnyOtherBlockIsOneStage() {
        try (Model m = Model.newInstance("declared")) {
            Declared declared = new Declared(4);
            m.setBlock(declared);
            declared.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 8));
            ModelStages stages = ModelStages.of(declared, 4);
            assertEquals(4, stages.count());
            for (int i = 0; i < 4; i++) {
                assertEquals(Set.of(i), stagesOf(stages, declared.stages().get(i)), "part " + i);
            }
            assertEquals(1, ModelStages.of(residual(8), 4).count(), "a parallel block is not a chain");
            SequentialBlock intermediate = new SequentialBlock().add(Linear.builder().setUnits(4).build()).add(Linear.builder().setUnits(4).build());
            intermediate.setReturnIntermediate(true);
            assertEquals(1, ModelStages.of(intermediate, 4).count(), "a sequential block returning every output is not a chain");
        }
    }
}
