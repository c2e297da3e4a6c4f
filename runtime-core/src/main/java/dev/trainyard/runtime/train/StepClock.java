package dev.trainyard.runtime.train;

import dev.trainyard.runtime.RunEvents;
import java.util.Arrays;

/**
 * Splits the wall time between two optimizer steps into phases that tile it: data wait (until
 * forward starts), forward, loss (until backward starts), backward, other (until {@code step()}),
 * exposed communication and optimizer. With gradient accumulation the phases of every
 * micro-batch add up. Also keeps per-stage times, written out on traced steps.
 */
final class StepClock {
    private final int traceEvery;
    private final long[] forwardStage;
    private final long[] backwardStage;
    private long stepStart;
    private long phaseEnd;
    private long mark;
    private long samples;
    private long dataWait;
    private long forward;
    private long loss;
    private long backward;

    StepClock(int stages, int traceEvery) {
        this.traceEvery = traceEvery;
        this.forwardStage = new long[stages];
        this.backwardStage = new long[stages];
        stepStart = phaseEnd = System.nanoTime();
    }

    void forwardStarts(long batchSamples) {
        mark = System.nanoTime();
        dataWait += mark - phaseEnd;
        samples += batchSamples;
    }

    void forwardEnds() {
        phaseEnd = System.nanoTime();
        forward += phaseEnd - mark;
    }

    void backwardStarts() {
        mark = System.nanoTime();
        loss += mark - phaseEnd;
    }

    void backwardEnds() {
        phaseEnd = System.nanoTime();
        backward += phaseEnd - mark;
    }

    void forwardStage(int stage, long nanos) {
        forwardStage[stage] += nanos;
    }

    void backwardStage(int stage, long nanos) {
        backwardStage[stage] += nanos;
    }

    /**
     * Closes the step: {@code awaitStart} is when {@code step()} began waiting for communication,
     * {@code optimizerStart}/{@code end} bracket the optimizer.
     */
    StepMetrics stepped(long step, long awaitStart, long optimizerStart, long end, InFlightBuckets timing, long bytes, boolean skipped) {
        StepMetrics.StepTrace trace = traceEvery > 0 && step % traceEvery == 0 ? trace(timing) : null;
        // an all-reduce run on the training thread ends backward's span, but it is communication waited for
        long inline = timing.takeCallerThreadNanos();
        StepMetrics m = new StepMetrics(step, samples, dataWait / 1e9, forward / 1e9, loss / 1e9, (backward - inline) / 1e9,
                (awaitStart - phaseEnd) / 1e9, (optimizerStart - awaitStart + inline) / 1e9, (end - optimizerStart) / 1e9,
                timing.lastCommNanos() / 1e9, bytes, skipped, (end - stepStart) / 1e9, RunEvents.micros(end), trace);
        stepStart = phaseEnd = end;
        samples = dataWait = forward = loss = backward = 0;
        Arrays.fill(forwardStage, 0);
        Arrays.fill(backwardStage, 0);
        return m;
    }

    private StepMetrics.StepTrace trace(InFlightBuckets buckets) {
        double[][] spans = new double[buckets.bucketCount()][];
        for (int i = 0; i < spans.length; i++) {
            long done = buckets.doneNanos(i);
            spans[i] = done == 0 ? new double[0]
                    : new double[] {(buckets.launchNanos(i) - stepStart) / 1e9, (done - stepStart) / 1e9};
        }
        double[] f = new double[forwardStage.length];
        double[] b = new double[backwardStage.length];
        for (int s = 0; s < f.length; s++) {
            f[s] = forwardStage[s] / 1e9;
            b[s] = backwardStage[s] / 1e9;
        }
        return new StepMetrics.StepTrace(f, b, spans);
    }
}
