package dev.trainyard.runtime.train;

import ai.djl.metric.Metric;
import ai.djl.metric.Metrics;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DJL {@code TrainingListener} that logs, after each epoch, where a step's time went on average
 * during that epoch: read from the trainer's {@link Metrics} ({@link DjlStepMetrics}), which it
 * creates when the trainer has none. Only rank 0 logs; every rank records. Add it like any DJL
 * listener: {@code config.addTrainingListeners(new StepPhasesLogger())}.
 *
 * <p>DJL's {@code Metrics} keeps every value; a {@code Metrics} this listener created is emptied after
 * each epoch's line, so a long run holds one epoch of values, not all of them. One the application
 * set is left alone.
 */
public final class StepPhasesLogger extends TrainingListenerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(StepPhasesLogger.class);
    /** Per name, how many values earlier epochs used. */
    private final Map<String, Integer> seen = new HashMap<>();
    private int epoch;
    /** The Metrics this listener gave the trainer, if it did: only that one is emptied. */
    private Metrics created;

    @Override
    public void onTrainingBegin(Trainer trainer) {
        if (trainer.getMetrics() == null) {
            created = new Metrics();
            trainer.setMetrics(created);
        }
    }

    @Override
    public void onEpoch(Trainer trainer) {
        epoch++;
        Metrics metrics = trainer.getMetrics();
        if (metrics == null || !metrics.hasMetric(DjlStepMetrics.STEP)) {
            return;
        }
        int steps = metrics.getMetric(DjlStepMetrics.STEP).size() - seen.getOrDefault(DjlStepMetrics.STEP, 0);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "epoch %d: %d steps of %.2f ms:", epoch, steps,
                meanSinceLastEpoch(metrics, DjlStepMetrics.STEP) / 1e3));
        for (String phase : DjlStepMetrics.PHASES) {
            line.append(String.format(Locale.ROOT, " %s %.2f ms,", phase.substring("trainyard_".length()).replace('_', ' '),
                    meanSinceLastEpoch(metrics, phase) / 1e3));
        }
        line.append(String.format(Locale.ROOT, " %.2f MB all-reduced per step (%.2f ms in flight)",
                meanSinceLastEpoch(metrics, DjlStepMetrics.BYTES_ALL_REDUCED) / 1e6,
                meanSinceLastEpoch(metrics, DjlStepMetrics.COMMUNICATION) / 1e3));
        if (!(trainer instanceof DistributedTrainer d) || d.processGroup().rank() == 0) {
            LOG.info(line.toString());
        }
        for (String name : metrics.getMetricNames()) {
            if (metrics == created) { // not one the application set since
                metrics.getMetric(name).clear(); // the live list: what this epoch's line has read
            }
            seen.put(name, metrics.getMetric(name).size());
        }
    }

    /** Mean of the values recorded under {@code name} since the previous epoch ended; NaN if none. */
    private double meanSinceLastEpoch(Metrics metrics, String name) {
        if (!metrics.hasMetric(name)) {
            return Double.NaN;
        }
        List<Metric> all = metrics.getMetric(name);
        List<Metric> epochs = all.subList(Math.min(seen.getOrDefault(name, 0), all.size()), all.size());
        return epochs.stream().mapToDouble(Metric::getValue).average().orElse(Double.NaN);
    }
}
