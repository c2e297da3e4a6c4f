package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model's top-level {@link SequentialBlock} cut into contiguous stages of about equal
 * parameter count. Backward runs stage by stage (last first), so a stage's gradients are final,
 * and can travel, while earlier stages still compute. Any other block is a single stage.
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
        if (!(model instanceof SequentialBlock seq) || wanted <= 1 || seq.getChildren().size() < 2) {
            return new ModelStages(List.of(List.of(model)));
        }
        List<Block> children = seq.getChildren().values();
        long total = 0;
        long[] sizes = new long[children.size()];
        for (int i = 0; i < children.size(); i++) {
            sizes[i] = children.get(i).getParameters().values().stream().mapToLong(p -> p.getArray().size()).sum();
            total += sizes[i];
        }
        int k = Math.min(wanted, children.size());
        List<List<Block>> stages = new ArrayList<>();
        List<Block> current = new ArrayList<>();
        long done = 0;
        long inCurrent = 0;
        for (int i = 0; i < children.size(); i++) {
            current.add(children.get(i));
            done += sizes[i];
            inCurrent += sizes[i];
            int left = children.size() - i - 1;
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
