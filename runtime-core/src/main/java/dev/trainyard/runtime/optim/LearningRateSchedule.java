package dev.trainyard.runtime.optim;

import ai.djl.training.tracker.ParameterTracker;
import java.util.Arrays;

/**
 * The learning rate of each optimizer step, as a function of Trainyard's step count alone (saved
 * in checkpoints, so a resumed run continues the schedule where it stopped, which DJL's trackers,
 * fed by per-process counters, cannot). {@code step} is the number of updates done before this
 * one: the first update uses {@code rate(0)}, as a PyTorch scheduler stepped after each update.
 */
public interface LearningRateSchedule {

    double rate(long step);

    /** What the schedule is, for logs and the run report. */
    String describe();

    /** The same rate for every step. */
    static LearningRateSchedule constant(double lr) {
        return new Constant(positive(lr));
    }

    /** Rises linearly over {@code warmupSteps} (step k uses lr·(k+1)/W), then stays at {@code lr}. */
    static LearningRateSchedule linearWarmup(double lr, long warmupSteps) {
        return new WarmupCosine(positive(lr), warmupSteps, Long.MAX_VALUE, 1.0);
    }

    /**
     * Linear warm-up over {@code warmupSteps}, then half a cosine from {@code lr} down to
     * {@code lr·minFactor} at {@code totalSteps}, and flat after that.
     */
    static LearningRateSchedule warmupCosine(double lr, long warmupSteps, long totalSteps, double minFactor) {
        if (warmupSteps < 0 || warmupSteps >= totalSteps) {
            throw new IllegalArgumentException("warm-up of " + warmupSteps + " steps does not fit in a run of " + totalSteps
                    + " steps; use fewer warm-up steps or train longer");
        }
        if (minFactor < 0 || minFactor > 1) {
            throw new IllegalArgumentException("the final learning-rate factor must be in [0, 1], got " + minFactor);
        }
        return new WarmupCosine(positive(lr), warmupSteps, totalSteps, minFactor);
    }

    /** {@code lr·gamma^⌊step/every⌋}: PyTorch's StepLR. */
    static LearningRateSchedule stepDecay(double lr, long every, double gamma) {
        if (every < 1) {
            throw new IllegalArgumentException("the decay interval must be at least 1 step, got " + every);
        }
        return new MultiStep(positive(lr), new long[0], every, gamma);
    }

    /** {@code lr·gamma^(milestones passed)}: PyTorch's MultiStepLR; milestones in steps, ascending. */
    static LearningRateSchedule multiStep(double lr, long[] milestones, double gamma) {
        long[] m = milestones.clone();
        Arrays.sort(m);
        return new MultiStep(positive(lr), m, 0, gamma);
    }

    /**
     * A DJL tracker, asked with Trainyard's step count (DJL counts updates per parameter from 1, so
     * the first update asks for 1): the value DJL would use, but resumable.
     */
    static LearningRateSchedule fromTracker(ParameterTracker tracker) {
        return new Tracked(tracker);
    }

    private static double positive(double lr) {
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("the learning rate must be a positive number, got " + lr);
        }
        return lr;
    }

    record Constant(double lr) implements LearningRateSchedule {
        @Override
        public double rate(long step) {
            return lr;
        }

        @Override
        public String describe() {
            return "constant " + lr;
        }
    }

    record WarmupCosine(double lr, long warmupSteps, long totalSteps, double minFactor) implements LearningRateSchedule {
        @Override
        public double rate(long step) {
            if (step < warmupSteps) {
                return lr * (step + 1) / warmupSteps;
            }
            if (totalSteps == Long.MAX_VALUE) {
                return lr;
            }
            double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
            return lr * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
        }

        @Override
        public String describe() {
            return totalSteps == Long.MAX_VALUE ? "linear warm-up over " + warmupSteps + " steps to " + lr
                    : "warm-up " + warmupSteps + " steps to " + lr + ", cosine to " + lr * minFactor + " at step " + totalSteps;
        }
    }

    record MultiStep(double lr, long[] milestones, long every, double gamma) implements LearningRateSchedule {
        @Override
        public double rate(long step) {
            long passed = every > 0 ? step / every : 0;
            for (long m : milestones) {
                if (step >= m) {
                    passed++;
                }
            }
            return lr * Math.pow(gamma, passed);
        }

        @Override
        public String describe() {
            return every > 0 ? lr + " times " + gamma + " every " + every + " steps"
                    : lr + " times " + gamma + " at steps " + Arrays.toString(milestones);
        }
    }

    record Tracked(ParameterTracker tracker) implements LearningRateSchedule {
        @Override
        public double rate(long step) {
            return tracker.getNewValue("trainyard", (int) Math.min(Integer.MAX_VALUE, step + 1));
        }

        @Override
        public String describe() {
            return "DJL tracker " + tracker.getClass().getSimpleName();
        }
    }
}
