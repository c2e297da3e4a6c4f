package dev.trainyard.runtime.train;

import ai.djl.metric.Metrics;
import ai.djl.metric.Unit;
import java.util.List;

/**
 * The figures a {@link DistributedTrainer} step records, also in DJL's {@link Metrics} on the
 * trainer (when the application or a listener has set one), where {@code EasyTrain}'s listeners and
 * users' own {@code TrainingListener}s look: one value per optimizer step under each name, times in
 * microseconds, bytes in bytes.
 */
public final class DjlStepMetrics {
    public static final String DATA_WAIT = "trainyard_data_wait";
    public static final String FORWARD = "trainyard_forward";
    public static final String LOSS = "trainyard_loss";
    public static final String BACKWARD = "trainyard_backward";
    /** Communication the step waited for (not hidden behind backward). */
    public static final String EXPOSED_COMMUNICATION = "trainyard_exposed_communication";
    /** Time with at least one all-reduce in flight, hidden or not. */
    public static final String COMMUNICATION = "trainyard_communication";
    public static final String OPTIMIZER = "trainyard_optimizer";
    public static final String STEP = "trainyard_step";
    public static final String BYTES_ALL_REDUCED = "trainyard_bytes_all_reduced";
    /** The times, in the order they happen in a step. */
    public static final List<String> PHASES = List.of(DATA_WAIT, FORWARD, LOSS, BACKWARD, EXPOSED_COMMUNICATION, OPTIMIZER);

    private DjlStepMetrics() {
    }

    static void record(Metrics metrics, StepMetrics s) {
        micros(metrics, DATA_WAIT, s.dataWait());
        micros(metrics, FORWARD, s.forward());
        micros(metrics, LOSS, s.loss());
        micros(metrics, BACKWARD, s.backward());
        micros(metrics, EXPOSED_COMMUNICATION, s.exposedComm());
        micros(metrics, COMMUNICATION, s.comm());
        micros(metrics, OPTIMIZER, s.optimizer());
        micros(metrics, STEP, s.wall());
        metrics.addMetric(BYTES_ALL_REDUCED, s.bytesAllReduced(), Unit.BYTES);
    }

    private static void micros(Metrics metrics, String name, double seconds) {
        metrics.addMetric(name, seconds * 1e6, Unit.MICROSECONDS);
    }
}
