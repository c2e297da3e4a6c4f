package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.Model;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import dev.trainyard.runtime.LogCapture;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The per-epoch line from the trainer's DJL Metrics: means of that epoch's steps only, and bounded memory. */
class StepPhasesLoggerTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    /** A step whose every phase took {@code ms} milliseconds, with {@code bytes} all-reduced. */
    private static StepMetrics step(double ms, long bytes) {
        double s = ms / 1e3;
        return new StepMetrics(1, 8, s, s, s, s, 0, s, s, 2 * s, bytes, false, 7 * s, 0, null);
    }

    /** What the listener logged while {@code r} ran, messages only. */
    private static List<String> logged(Runnable r) throws Exception {
        return LogCapture.of(StepPhasesLogger.class, r::run).stream().map(l -> l.substring(l.indexOf(' ') + 1)).toList();
    }

    @Test
    void eachEpochLineAveragesThatEpochsStepsAndAMetricsItCreatedIsEmptiedAfterwards() throws Exception {
        StepPhasesLogger listener = new StepPhasesLogger();
        try (Model model = Model.newInstance("phases")) {
            model.setBlock(Linear.builder().setUnits(2).build());
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).addTrainingListeners(listener))) {
                trainer.initialize(new Shape(1, 3));
                Metrics metrics = trainer.getMetrics();
                assertNotNull(metrics, "the listener gives the trainer Metrics");
                DjlStepMetrics.record(metrics, step(1, 1000));
                DjlStepMetrics.record(metrics, step(3, 3000));
                List<String> first = logged(() -> listener.onEpoch(trainer));
                assertEquals(List.of("epoch 1: 2 steps of 14.00 ms: data wait 2.00 ms, forward 2.00 ms, loss 2.00 ms, backward 2.00 ms,"
                        + " exposed communication 2.00 ms, optimizer 2.00 ms, 0.00 MB all-reduced per step (4.00 ms in flight)"), first);
                assertEquals(0, metrics.getMetric(DjlStepMetrics.STEP).size(), "emptied: a long run keeps one epoch of values");
                DjlStepMetrics.record(metrics, step(10, 2_000_000));
                List<String> second = logged(() -> listener.onEpoch(trainer));
                assertEquals(List.of("epoch 2: 1 steps of 70.00 ms: data wait 10.00 ms, forward 10.00 ms, loss 10.00 ms, backward 10.00 ms,"
                        + " exposed communication 10.00 ms, optimizer 10.00 ms, 2.00 MB all-reduced per step (20.00 ms in flight)"), second);
                assertSame(metrics, trainer.getMetrics());
            }
        }
    }

    @Test
    void metricsTheApplicationSetAreReadButKept() throws Exception {
        StepPhasesLogger listener = new StepPhasesLogger();
        try (Model model = Model.newInstance("phases")) {
            model.setBlock(Linear.builder().setUnits(2).build());
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).addTrainingListeners(listener))) {
                Metrics mine = new Metrics(); // set after the listener gave the trainer its own
                trainer.setMetrics(mine);
                DjlStepMetrics.record(mine, step(1, 0));
                listener.onEpoch(trainer);
                DjlStepMetrics.record(mine, step(5, 0));
                List<String> second = logged(() -> listener.onEpoch(trainer));
                assertEquals(2, mine.getMetric(DjlStepMetrics.STEP).size(), "the application's values stay");
                assertEquals(1, second.size());
                assertEquals(true, second.get(0).startsWith("epoch 2: 1 steps of 35.00 ms: data wait 5.00 ms"), second.get(0));
            }
        }
    }
}
