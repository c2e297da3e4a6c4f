package dev.trainyard.runtime.train;

/**
 * Where training stands: {@code batchesDone} optimizer steps into {@code epoch} (0-based), {@code
 * step} steps in all. Saved with every checkpoint; a resumed run continues exactly here.
 */
public record TrainingState(int epoch, long batchesDone, long step) {
    public static final TrainingState START = new TrainingState(0, 0, 0);
}
