package dev.trainyard.collectives.host;

import static dev.trainyard.collectives.host.Elements.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.Work;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code allReduceOnCallerThread}: runs on the caller when the communicator is idle, never out of issue order. */
class CallerThreadAllReduceTest {


    @Test
    void idleCommunicatorRunsItOnTheCallerAndLaterCallsStillKeepIssueOrder() {
        try (LocalGroup g = new LocalGroup(3, Transport.SHARED_MEMORY)) {
            List<float[]> out = g.onAll(r -> {
                ByteBuffer a = floats(300_000, r + 1);
                Work first = g.comm(r).allReduceOnCallerThread(a, DataType.FLOAT32, ReduceOp.SUM);
                // nothing was pending: the caller ran it, so it is complete on return (a peer is needed, so no other thread could have finished it yet)
                assertTrue(first.isDone(), "rank " + r + ": ran on the caller's thread");
                // now with work pending: it must queue behind the broadcast, not overtake it
                ByteBuffer b = floats(300_000, r == 1 ? 7 : 0);
                Work broadcast = g.comm(r).broadcastAsync(b, DataType.FLOAT32, 1);
                ByteBuffer c = floats(300_000, r);
                Work second = g.comm(r).allReduceOnCallerThread(c, DataType.FLOAT32, ReduceOp.MAX);
                broadcast.await();
                second.await();
                return new float[] {a.getFloat(0), a.getFloat(4 * 299_999), b.getFloat(4 * 1234), c.getFloat(4 * 4321)};
            });
            for (float[] o : out) {
                assertEquals(6f, o[0]);
                assertEquals(6f, o[1]);
                assertEquals(7f, o[2]);
                assertEquals(2f, o[3]);
            }
        }
    }

    @Test
    void abortEndsACallRunningOnTheCallerThreadAtOnce() throws Exception {
        try (LocalGroup g = new LocalGroup(2, Transport.SHARED_MEMORY, Duration.ofSeconds(120))) {
            CompletableFuture<Work> call = CompletableFuture.supplyAsync(
                    () -> g.comm(0).allReduceOnCallerThread(floats(300_000, 1), DataType.FLOAT32, ReduceOp.SUM));
            assertThrows(java.util.concurrent.TimeoutException.class, () -> call.get(300, TimeUnit.MILLISECONDS),
                    "rank 1 has not called: the caller waits");
            long t0 = System.nanoTime();
            g.comm(0).abort("test abort");
            Work w = call.get(5, TimeUnit.SECONDS);
            CollectiveException e = assertThrows(CollectiveException.class, w::await);
            assertInstanceOf(CommunicatorAbortedException.class, e, e.toString());
            assertTrue(e.getMessage().contains("test abort"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "abort returned and the call ended within 5 s");
        }
    }
}
