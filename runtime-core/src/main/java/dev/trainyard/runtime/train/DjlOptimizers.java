package dev.trainyard.runtime.train;

import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.FusedOptimizer;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.optim.Sgd;
import java.lang.reflect.Field;

/**
 * Maps the DJL optimizer of a training config onto a fused one. DJL keeps the settings in
 * private fields with no getters, so they are read reflectively; where that fails, or the
 * optimizer uses what the fused ones do not have (gradient rescaling, element-wise clipping, a
 * start offset for the update count), the answer says why, and DJL's own path stays.
 */
final class DjlOptimizers {
    private DjlOptimizers() {
    }

    /** The fused equivalent, or a reason there is none (never both, never neither). */
    record Mapping(FusedOptimizer fused, String notMapped) {
    }

    static Mapping map(Optimizer djl) {
        String name = djl.getClass().getName();
        try {
            if (read(djl, Optimizer.class, "rescaleGrad") != 1f) {
                return new Mapping(null, "it rescales gradients (setRescaleGrad)");
            }
            if (read(djl, Optimizer.class, "clipGrad") >= 0f) {
                return new Mapping(null, "it clips gradients element-wise (optClipGrad; Trainyard clips by global norm: withGradientClipping)");
            }
            Field begin = Optimizer.class.getDeclaredField("beginNumUpdate");
            begin.setAccessible(true);
            if (begin.getInt(djl) != 0) {
                return new Mapping(null, "it starts its update count at " + begin.getInt(djl) + " (optBeginNumUpdate)");
            }
            float wd = read(djl, Optimizer.class, "weightDecays");
            switch (name) {
                case "ai.djl.training.optimizer.Sgd": {
                    LearningRateSchedule lr = LearningRateSchedule.fromTracker(tracker(djl));
                    return new Mapping(new Sgd(lr, read(djl, djl.getClass(), "momentum"), 0, false, wd), null);
                }
                case "ai.djl.training.optimizer.Adam":
                case "ai.djl.training.optimizer.AdamW": {
                    LearningRateSchedule lr = LearningRateSchedule.fromTracker(tracker(djl));
                    double b1 = read(djl, djl.getClass(), "beta1");
                    double b2 = read(djl, djl.getClass(), "beta2");
                    double eps = read(djl, djl.getClass(), "epsilon");
                    return new Mapping(name.endsWith("AdamW") ? Adam.adamW(lr, b1, b2, eps, wd) : Adam.adam(lr, b1, b2, eps, wd), null);
                }
                default:
                    return new Mapping(null, "Trainyard has no fused " + djl.getClass().getSimpleName());
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new Mapping(null, "its settings cannot be read in this DJL version (" + e + ")");
        }
    }

    private static float read(Object o, Class<?> owner, String field) throws ReflectiveOperationException {
        Field f = owner.getDeclaredField(field);
        f.setAccessible(true);
        return f.getFloat(o);
    }

    private static ParameterTracker tracker(Optimizer djl) throws ReflectiveOperationException {
        Field f = djl.getClass().getDeclaredField("learningRateTracker");
        f.setAccessible(true);
        return (ParameterTracker) f.get(djl);
    }
}
