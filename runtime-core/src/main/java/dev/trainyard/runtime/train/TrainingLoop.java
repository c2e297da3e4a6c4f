package dev.trainyard.runtime.train;

import ai.djl.training.EasyTrain;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.translate.TranslateException;
import java.io.IOException;
import java.util.Optional;

/**
 * {@code EasyTrain.fit} with what a restartable distributed job needs: resume from the newest
 * checkpoint (exactly where it stopped: epoch, batch, sampler position), a checkpoint every k
 * steps and at every epoch end (written by rank 0), and a callback per epoch.
 */
public final class TrainingLoop {
    /** Called on every rank after each epoch (and its validation), with the time the epoch took. */
    public interface EpochEnd {
        void accept(int epoch, double seconds, long samplesThisRank) throws IOException, TranslateException;
    }

    private TrainingLoop() {
    }

    /**
     * @param checkpoints     where to resume from and checkpoint to; empty for neither
     * @param checkpointEvery steps between checkpoints (0: only at epoch ends)
     */
    public static TrainingState fit(DistributedTrainer trainer, RandomAccessDataset train, DistributedSampler sampler,
                                    int epochs, Dataset validation, Optional<Checkpoints> checkpoints, int checkpointEvery,
                                    EpochEnd onEpoch) throws IOException, TranslateException {
        TrainingState start = checkpoints.map(trainer::resume).orElse(TrainingState.START);
        boolean writer = trainer.processGroup().rank() == 0;
        sampler.startAt(start.epoch(), start.batchesDone());
        long step = start.step();
        for (int epoch = start.epoch(); epoch < epochs; epoch++) {
            long batches = epoch == start.epoch() ? start.batchesDone() : 0;
            long samples = 0;
            long t0 = System.nanoTime();
            for (Batch batch : trainer.iterateDataset(train)) {
                samples += batch.getSize();
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
                batch.close();
                batches++;
                step++;
                if (writer && checkpoints.isPresent() && checkpointEvery > 0 && step % checkpointEvery == 0) {
                    checkpoints.get().save(new TrainingState(epoch, batches, step), trainer.getModel().getBlock());
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            EasyTrain.evaluateDataset(trainer, validation);
            trainer.notifyListeners(listener -> listener.onEpoch(trainer));
            if (writer && checkpoints.isPresent()) {
                checkpoints.get().save(new TrainingState(epoch + 1, 0, step), trainer.getModel().getBlock());
            }
            onEpoch.accept(epoch, seconds, samples);
        }
        return new TrainingState(epochs, 0, step);
    }
}
