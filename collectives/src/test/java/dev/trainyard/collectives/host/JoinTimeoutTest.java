package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.InMemoryStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A rank that never starts: the ranks that did give up after the connect timeout, naming it. */
class JoinTimeoutTest {
    @Test
    void theRanksThatCameNameTheOneThatDidNot() throws Exception {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(30));
        // 3 s: time for both ranks that come to start their servers and publish, even on a loaded machine
        CommunicatorOptions options = CommunicatorOptions.defaults(JobToken.generate()).withConnectTimeout(Duration.ofSeconds(3));
        ExecutorService ranks = Executors.newFixedThreadPool(2);
        try {
            List<Future<HostCommunicator>> came = List.of(
                    ranks.submit(() -> HostCommunicator.connect(store, 0, 3, options)),
                    ranks.submit(() -> HostCommunicator.connect(store, 1, 3, options)));
            for (int r = 0; r < 2; r++) {
                try {
                    came.get(r).get(20, TimeUnit.SECONDS).close();
                    throw new AssertionError("rank " + r + " joined a group of 3 without rank 2");
                } catch (ExecutionException e) {
                    PeerFailureException failure = (PeerFailureException) e.getCause();
                    assertEquals(List.of(2), failure.ranks(), failure.getMessage());
                    assertTrue(failure.getMessage().equals("rank " + r + ": ranks [2] did not join the group of 3 within 3 s"
                            + " (not started, crashed, or using another store)"), failure.getMessage());
                }
            }
        } finally {
            ranks.shutdownNow();
        }
    }
}
