package dev.trainyard.launcher.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.store.InMemoryStore;
import dev.trainyard.launcher.Clock;
import dev.trainyard.launcher.LaunchFailedException;
import dev.trainyard.launcher.plan.EntryPoint;
import dev.trainyard.launcher.plan.LaunchPlan;
import dev.trainyard.runtime.Backend;
import dev.trainyard.runtime.PreflightMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launchers' rendezvous over an in-memory store, one {@link JobRendezvous} per node in this
 * process; heartbeats and leaving run on a clock the test moves, so no test sleeps for them.
 */
class JobRendezvousTest {
    private final InMemoryStore store = new InMemoryStore(Duration.ofSeconds(5));

    /** Time that passes only when the code under test sleeps or the test says so. */
    private static final class ManualClock implements Clock {
        long now;

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void sleep(Duration d) {
            now += d.toNanos();
        }

        void advance(Duration d) {
            now += d.toNanos();
        }
    }

    private static LaunchPlan plan(int node, int nnodes, int nproc, int maxRestarts, Duration rendezvousTimeout) {
        return new LaunchPlan(nproc, nnodes, node, "127.0.0.1", 29500, "127.0.0.1", Backend.GRPC, maxRestarts, Path.of("run"),
                JobToken.generate(), List.of(), new EntryPoint("Main", List.of()), List.of(), rendezvousTimeout, Optional.empty(),
                Duration.ofSeconds(5), List.of(), TransportSecurity.plaintext(), PreflightMode.OFF, 0, false, "off", Optional.empty(),
                Transport.SHARED_MEMORY, dev.trainyard.collectives.AllReduceAlgorithm.AUTO, false, Duration.ZERO);
    }

    private JobRendezvous node(int node, int nnodes, Clock clock) {
        return new JobRendezvous(store, plan(node, nnodes, 2, 1, Duration.ofSeconds(5)), 0, clock);
    }

    @Test
    void everyNodeWaitsForTheOthersAndCarriesOnFromTheMostAttemptsAnyRecorded() throws Exception {
        CompletableFuture<Integer> second = CompletableFuture.supplyAsync(() -> node(1, 2, Clock.system()).join(3));
        assertEquals(3, node(0, 2, Clock.system()).join(1));
        assertEquals(3, second.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aNodeWithOtherWorkerCountsIsRefusedNamingItsValues() throws Exception {
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> new JobRendezvous(store,
                plan(1, 2, 4, 1, Duration.ofSeconds(5)), 0, Clock.system()).join(0));
        LaunchFailedException e = assertThrows(LaunchFailedException.class, () -> node(0, 2, Clock.system()).join(0));
        assertTrue(e.getMessage().contains(") launches --nproc-per-node 4 --max-restarts 1 but this node uses 2 and 1;"
                + " give every node the same values"), e.getMessage());
        assertThrows(Exception.class, () -> other.get(10, TimeUnit.SECONDS), "the other node refuses this one too");
    }

    @Test
    void aNodeThatNeverJoinsIsNamedAtTheTimeout() {
        CompletableFuture.runAsync(() -> new JobRendezvous(store, plan(2, 3, 2, 1, Duration.ofMillis(300)), 0, Clock.system()).join(0));
        LaunchFailedException e = assertThrows(LaunchFailedException.class,
                () -> new JobRendezvous(store, plan(0, 3, 2, 1, Duration.ofMillis(300)), 0, Clock.system()).join(0));
        assertTrue(e.getMessage().startsWith("rendezvous timed out after 0 s: node(s) 1 of 3 did not join"), e.getMessage());
    }

    @Test
    void theFirstFailureReportedStandsForEveryNode() {
        JobRendezvous a = node(0, 2, Clock.system());
        JobRendezvous b = node(1, 2, Clock.system());
        assertEquals(Optional.empty(), a.failure());
        JobFailure first = new JobFailure(3, "rank 1 failed first", List.of("line 1", "line 2"));
        assertEquals(first, b.reportFailure(first));
        assertEquals(first, a.reportFailure(new JobFailure(1, "node(s) [1] stopped answering", List.of())));
        assertEquals(Optional.of(first), a.failure());
    }

    @Test
    void aNodeIsSilentOnlyOnceItsHeartbeatHasStoodStillLongEnoughAndItIsNotDone() throws Exception {
        ManualClock clock = new ManualClock();
        JobRendezvous zero = node(0, 2, clock);
        JobRendezvous one = node(1, 2, clock);
        CompletableFuture<Integer> joined = CompletableFuture.supplyAsync(() -> one.join(0));
        zero.join(0);
        joined.get(10, TimeUnit.SECONDS);
        Duration after = Duration.ofSeconds(10);
        one.heartbeat();
        assertEquals(List.of(), zero.silentNodes(after));
        clock.advance(Duration.ofSeconds(9));
        assertEquals(List.of(), zero.silentNodes(after), "9 s without a beat is not yet 10");
        clock.advance(Duration.ofSeconds(2));
        assertEquals(List.of(1), zero.silentNodes(after));
        one.heartbeat();
        assertEquals(List.of(), zero.silentNodes(after), "a new beat clears it");
        one.markDone();
        clock.advance(Duration.ofMinutes(5));
        assertEquals(List.of(), zero.silentNodes(after), "a node that is done may stop beating");
        assertTrue(!zero.allDone());
        zero.markDone();
        assertTrue(zero.allDone());
    }

    @Test
    void nodeZeroWaitsForNodesToLeaveButNotForSilentOnes() {
        ManualClock clock = new ManualClock();
        JobRendezvous zero = node(0, 2, clock);
        JobRendezvous one = node(1, 2, clock);
        one.leave();
        zero.leave();
        zero.awaitAllLeft(Duration.ofSeconds(10), Duration.ofSeconds(3));
        assertEquals(0, clock.now, "everybody left: no wait");

        InMemoryStore other = new InMemoryStore(Duration.ofSeconds(5));
        JobRendezvous lonely = new JobRendezvous(other, plan(0, 2, 2, 1, Duration.ofSeconds(5)), 0, clock);
        lonely.leave();
        lonely.awaitAllLeft(Duration.ofSeconds(10), Duration.ofSeconds(3)); // node 1 never beats nor leaves
        assertTrue(clock.now > Duration.ofSeconds(3).toNanos() && clock.now < Duration.ofSeconds(10).toNanos(),
                "stops waiting once node 1 is silent, before the timeout: " + clock.now / 1e9 + " s");
    }
}
