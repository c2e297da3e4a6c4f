package dev.trainyard.runtime.train;

import ai.djl.training.EasyTrain;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.translate.TranslateException;
import dev.trainyard.runtime.RunEvents;
import java.io.IOException;
import java.util.Optional;

/**
 * {@code EasyTrain.fit} with what a restartable distributed job needs: resume from the newest
 * checkpoint (exactly where it stopped: epoch, batch, sampler position), a checkpoint every k
 * steps and at every epoch end (written by rank 0), and callbacks per step and per epoch.
 * <pre>{@code
 * new TrainingLoop(trainer, dataset, sampler).epochs(2).checkpoints(cps, 500).onEpoch(...).run();
 * }</pre>
 */
public final class TrainingLoop {
    /** Called on every rank after each epoch, with the time it took and the samples this rank saw. */
    public interface EpochEnd {
        void accept(int epoch, double seconds, long samplesThisRank) throws IOException, TranslateException;
    }

    /** Called on every rank after each optimizer step. */
    public interface StepEnd {
        void accept(TrainingState state);
    }

    private final DistributedTrainer trainer;
    private final RandomAccessDataset train;
    private final DistributedSampler sampler;
    private int epochs = 1;
    private Optional<Checkpoints> checkpoints = Optional.empty();
    private int checkpointEvery;
    private EpochEnd onEpoch = (e, s, n) -> { };
    private StepEnd onStep = s -> { };

    /** {@code train} must sample with {@code sampler}. */
    public TrainingLoop(DistributedTrainer trainer, RandomAccessDataset train, DistributedSampler sampler) {
        this.trainer = trainer;
        this.train = train;
        this.sampler = sampler;
    }

    public TrainingLoop epochs(int n) {
        this.epochs = n;
        return this;
    }

    /** Resume from {@code cps} and checkpoint into it every {@code everySteps} steps (0: only at epoch ends). */
    public TrainingLoop checkpoints(Checkpoints cps, int everySteps) {
        this.checkpoints = Optional.of(cps);
        this.checkpointEvery = everySteps;
        return this;
    }

    public TrainingLoop onEpoch(EpochEnd callback) {
        this.onEpoch = callback;
        return this;
    }

    public TrainingLoop onStep(StepEnd callback) {
        this.onStep = callback;
        return this;
    }

    /** Trains until {@link #epochs} are done; returns the final state. */
    public TrainingState run() throws IOException, TranslateException {
        TrainingState start = checkpoints.map(trainer::resume).orElse(TrainingState.START);
        sampler.startAt(start.epoch(), start.batchesDone());
        long step = start.step();
        RunEvents.plan(epochs, sampler.batchesPerEpoch(train.size()),
                (long) sampler.getBatchSize() * trainer.processGroup().worldSize());
        for (int epoch = start.epoch(); epoch < epochs; epoch++) {
            long batches = epoch == start.epoch() ? start.batchesDone() : 0;
            long samples = 0;
            long t0 = System.nanoTime();
            for (Batch batch : trainer.iterateDataset(train)) {
                samples += batch.getSize();
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
                batch.close();
                TrainingState now = new TrainingState(epoch, ++batches, ++step);
                if (checkpoints.isPresent() && checkpointEvery > 0 && step % checkpointEvery == 0) {
                    save(now);
                }
                onStep.accept(now);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            trainer.notifyListeners(listener -> listener.onEpoch(trainer));
            RunEvents.epoch(epoch, seconds, samples);
            if (checkpoints.isPresent()) {
                save(new TrainingState(epoch + 1, 0, step));
            }
            onEpoch.accept(epoch, seconds, samples);
        }
        return new TrainingState(epochs, 0, step);
    }

    /** Every rank calls this at the same steps (with a sharded optimizer every rank writes its shard). */
    private void save(TrainingState state) {
        long t0 = System.nanoTime();
        // the steps a checkpoint covers must be in the metrics before it exists: a worker stopped right after
        // it would otherwise lose their buffered lines, and the report would count them neither done nor redone
        trainer.flushMetrics();
        trainer.saveCheckpoint(checkpoints.get(), state);
        RunEvents.span("checkpoint", t0, System.nanoTime());
    }
}
