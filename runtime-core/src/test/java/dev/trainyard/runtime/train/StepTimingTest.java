package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * {@link InFlightBuckets} and {@link StepClock}: buckets awaited in launch order, communication time
 * as the union of the all-reduces, and an all-reduce run on the training thread moved from backward
 * to exposed communication. Durations are only bounded from below (the machine is shared).
 */
class StepTimingTest {
    private static final long MS = 1_000_000L;

    /** A work as a backend issues it: the test holds the completion and plays the backend. */
    private static Work.Completion work(long seq) {
        return Work.issue(new Fingerprint(seq, CollectiveOp.ALL_REDUCE, ReduceOp.AVG, DataType.FLOAT32, 10, -1));
    }

    private static void sleep(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            LockSupport.parkNanos(until - System.nanoTime());
        }
    }

    @Test
    void bucketsAreAwaitedInLaunchOrderAndAnUnsentBucketHasNoTimes() {
        InFlightBuckets b = new InFlightBuckets(3);
        Work.Completion w0 = work(0);
        Work.Completion w2 = work(1);
        b.launching(0);
        b.launched(0, w0.work());
        b.launching(2);
        b.launched(2, w2.work());
        w2.complete();
        sleep(5 * MS);
        w0.complete();
        List<Integer> seen = new ArrayList<>();
        b.awaitAll(seen::add);
        assertEquals(List.of(0, 2), seen);
        assertEquals(0, b.doneNanos(1), "bucket 1 was not sent");
        assertTrue(b.doneNanos(0) >= b.doneNanos(2) + 5 * MS);
        // the union of [launch 0, done 0] and [launch 2, done 2]: bucket 2 lies inside bucket 0's span
        assertEquals(b.doneNanos(0) - b.launchNanos(0), b.lastCommNanos());
        assertEquals(0, b.takeCallerThreadNanos(), "both ran on another thread");
    }

    @Test
    void anAllReduceAlreadyCompleteWhenLaunchedRanOnTheCallerAndIsCountedOnce() {
        InFlightBuckets b = new InFlightBuckets(1);
        b.launching(0);
        Work.Completion w = work(0);
        sleep(10 * MS); // the caller's thread runs the all-reduce
        w.complete();
        b.launched(0, w.work());
        long inline = b.takeCallerThreadNanos();
        assertTrue(inline >= 10 * MS, "caller-thread time " + inline);
        assertEquals(0, b.takeCallerThreadNanos(), "taken once");
    }

    @Test
    void theStepsPhasesTileItsWallTimeWithTheCallerThreadAllReduceAsExposedCommunication() {
        StepClock clock = new StepClock(1, 0);
        InFlightBuckets b = new InFlightBuckets(1);
        clock.forwardStarts(64);
        sleep(2 * MS);
        clock.forwardEnds();
        clock.backwardStarts();
        sleep(3 * MS); // backward proper
        b.launching(0);
        Work.Completion w = work(0);
        sleep(20 * MS); // the last bucket's all-reduce on the training thread
        w.complete();
        b.launched(0, w.work());
        clock.backwardEnds();
        long awaitStart = System.nanoTime();
        b.awaitAll(i -> { });
        long optimizerStart = System.nanoTime();
        sleep(1 * MS);
        long end = System.nanoTime();
        StepMetrics m = clock.stepped(1, awaitStart, optimizerStart, end, b, 1000, false);
        assertTrue(m.exposedComm() >= 0.020, "the 20 ms run on the training thread is exposed communication: " + m.exposedComm());
        assertTrue(m.backward() >= 0.003 && m.backward() < m.exposedComm(), "backward keeps only its own time: " + m.backward());
        double tiled = m.dataWait() + m.forward() + m.loss() + m.backward() + m.other() + m.exposedComm() + m.optimizer();
        assertEquals(m.wall(), tiled, 1e-6, "the phases tile the step");
        assertEquals(64, m.samples());
    }
}
