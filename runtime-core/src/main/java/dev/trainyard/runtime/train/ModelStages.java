package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model cut into contiguous stages of about equal parameter count. Backward runs stage by
 * stage (last first), so a stage's gradients are final, and can travel, while earlier stages still
 * compute. The cut points are found by looking through {@link SequentialBlock}s, nested ones too
 * (a ResNet's stages of residual units), and through {@link StagedBlock}s (a user's block that
 * declares its pieces, such as a transformer's layers), down to blocks that are neither; those
 * are never cut. A model with fewer than two such pieces is a single stage.
 */
final class ModelStages {
    private final List<List<Block>> stages;
    private final Map<Parameter, Integer> stageOf = new IdentityHashMap<>();

    private ModelStages(List<List<Block>> stages) {
        this.stages = stages;
        for (int s = 0; s < stages.size(); s++) {
            for (Block b : stages.get(s)) {
                for (Parameter p : b.getParameters().values()) {
                    stageOf.put(p, s);
                }
            }
        }
    }

    static ModelStages of(Block model, int wanted) {
        List<Block> pieces = new ArrayList<>();
        addPieces(model, pieces);
        if (wanted <= 1 || pieces.size() < 2) {
            return new ModelStages(List.of(List.of(model)));
        }
        long total = 0;
        long[] sizes = new long[pieces.size()];
        for (int i = 0; i < pieces.size(); i++) {
            sizes[i] = pieces.get(i).getParameters().values().stream().mapToLong(p -> p.getArray().size()).sum();
            total += sizes[i];
        }
        int k = Math.min(wanted, pieces.size());
        List<List<Block>> stages = new ArrayList<>();
        List<Block> current = new ArrayList<>();
        long done = 0;
        long inCurrent = 0;
        for (int i = 0; i < pieces.size(); i++) {
            current.add(pieces.get(i));
            done += sizes[i];
            inCurrent += sizes[i];
            int left = pieces.size() - i - 1;
            int stagesLeft = k - stages.size() - 1;
            boolean reachedShare = done * k >= total * (stages.size() + 1) && inCurrent > 0;
            if (stagesLeft > 0 && left >= stagesLeft && (reachedShare || left == stagesLeft)) {
                stages.add(current);
                current = new ArrayList<>();
                inCurrent = 0;
            }
        }
        stages.add(current);
        return new ModelStages(List.copyOf(stages));
    }

    /**
     * The blocks whose forwards, applied in order, are {@code block}'s forward. A sequential block
     * that returns its intermediate outputs is not a chain, so it stays whole.
     */
    private static void addPieces(Block block, List<Block> into) {
        if (block instanceof StagedBlock staged) {
            for (Block b : staged.stages()) {
                addPieces(b, into);
            }
        } else if (block instanceof SequentialBlock seq && !seq.isReturnIntermediate() && !seq.getChildren().isEmpty()) {
            for (Block b : seq.getChildren().values()) {
                addPieces(b, into);
            }
        } else {
            into.add(block);
        }
    }

    int count() {
        return stages.size();
    }

    List<Block> blocks(int stage) {
        return stages.get(stage);
    }

    /** The stage a parameter belongs to (0 for a single-stage model). */
    int stageOf(Parameter p) {
        return stageOf.getOrDefault(p, 0);
    }
}
