package dev.trainyard.runtime.train;

import dev.trainyard.runtime.optim.FusedOptimizer;
import java.util.Optional;

/**
 * Who updates the parameters: a given fused optimizer, the training config's DJL optimizer mapped
 * onto a fused one where its settings can be read ({@link DjlOptimizers}), or DJL's own path.
 */
public record OptimizerChoice(Optional<FusedOptimizer> fused, boolean mapFromConfig) {
    /** Map the config's DJL SGD or Adam onto the fused path; keep DJL's path for anything else. */
    public static final OptimizerChoice FROM_CONFIG = new OptimizerChoice(Optional.empty(), true);
    /** DJL's optimizer, parameter by parameter, whatever it is. */
    public static final OptimizerChoice DJL = new OptimizerChoice(Optional.empty(), false);

    public static OptimizerChoice of(FusedOptimizer optimizer) {
        return new OptimizerChoice(Optional.of(optimizer), false);
    }
}
